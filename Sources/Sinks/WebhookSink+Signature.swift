import Config
import Crypto
import Foundation
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

    /// Standard Webhooks' `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of
    /// `"<id>.<timestamp>.<body>"`, keyed with the bytes of the `whsec_` secret.
    ///
    /// Receivers verify it with a Standard Webhooks library (`standardwebhooks` on PyPI and npm,
    /// and others), which also refuses a `webhook-timestamp` more than 5 minutes from its clock.
    public static func standardSignature(id: String, timestamp: Int64, body: [UInt8], key: [UInt8]) -> String {
        var signed = Array("\(id).\(timestamp).".utf8)
        signed += body
        let code = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key))
        return "v1," + Data(code).base64EncodedString()
    }
}
