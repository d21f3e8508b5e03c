/// One element of a stop-events array after decoding: a usable event, or bad input kept aside.
public enum ArrayElement: Sendable, Hashable {
    case event(StopEvent)
    case malformed(MalformedElement)
}
