/// np6-sync's version: `--version`, the start-up log line and the `User-Agent` of the API client
/// and the webhook sink.
public enum ProductVersion {
    public static let current = "0.1.0"
}
