struct KnobsPatchError: Error, CustomStringConvertible {
    let key: String
    var description: String { "unknown knob or bad value for '\(key)'" }
}
