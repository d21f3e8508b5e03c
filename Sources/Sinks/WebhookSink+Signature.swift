import Config
import Crypto
import NP6Model

extension WebhookSink {
    /// The header carrying the body's signature when the sink has a `secretFile`.
    public static let signatureHeader = "X-NP6Sync-Signature"

    /// `sha256=` and the lower-case hex HMAC-SHA256 of the exact body bytes, keyed with the
    /// secret's UTF-8 bytes (surrounding whitespace of the file removed).
    ///
    /// A receiver recomputes it over the raw body it received and compares in constant time.
    /// There is no timestamp: a replayed request only delivers events again, which receivers
    /// dedupe on the event `id` anyway.
    public static func signature(of body: [UInt8], secret: Secret) -> String {
        let key = SymmetricKey(data: Array(secret.unredactedValue.utf8))
        let code = HMAC<SHA256>.authenticationCode(for: body, using: key)
        return "sha256="
            + code.map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
    }
}
