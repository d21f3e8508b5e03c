/// The non-array bodies a broken proxy or API sends with a `200`.
enum GarbageBody: Sendable, CaseIterable {
    case htmlPage
    case jsonObject
}
