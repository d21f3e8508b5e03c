import NP6Model

/// The members of one JSON object, duplicates and unknown keys already reported and dropped.
struct ObjectFields {
    let path: ConfigurationKeyPath
    let members: [JSONMember]

    subscript(key: String) -> JSONValue? {
        members.first(where: { $0.key == key })?.value
    }
}
