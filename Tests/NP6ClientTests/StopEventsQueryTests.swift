import NIOHTTP1
import NP6Model
import Testing

@testable import NP6Client

@Suite struct StopEventsQueryTests {
    @Test(arguments: [
        (ContactKind.id, "000R4M0T", "id=000R4M0T"),
        (.unicity, "a+b@x.com", "unicity=a%2Bb%40x.com"),
        (.unicity, "first last@example.com", "unicity=first%20last%40example.com"),
        (.unicity, "zoë.dupont+news@exemple.fr", "unicity=zo%C3%AB.dupont%2Bnews%40exemple.fr"),
        (.unicity, "a&start=0=b/?#%", "unicity=a%26start%3D0%3Db%2F%3F%23%25"),
        (.hash, "0441619ab4631d18548aa8835dd2c28b", "hash=0441619ab4631d18548aa8835dd2c28b"),
    ])
    func queryNamesTheContactPercentEncoded(kind: ContactKind, value: String, expected: String) {
        let query = StopEventsQuery(
            contact: ContactReference(kind: kind, value: value), startMs: 1_614_089_500_000, endMs: 1_614_090_000_000)
        #expect(query.queryString == "\(expected)&start=1614089500000&end=1614090000000&sort=asc")
    }

    @Test func urlKeepsABasePathAndDropsTrailingSlashes() {
        let query = StopEventsQuery(contact: ContactReference(kind: .id, value: "X"), startMs: 0, endMs: 1)
        #expect(
            query.url(baseURL: "https://api-cm.np6.com")
                == "https://api-cm.np6.com/targets/events/responses/stop?id=X&start=0&end=1&sort=asc")
        #expect(
            query.url(baseURL: "http://127.0.0.1:8080/np6//")
                == "http://127.0.0.1:8080/np6/targets/events/responses/stop?id=X&start=0&end=1&sort=asc")
    }

    @Test func contactReferenceParsesKindAndValue() {
        #expect(ContactReference(parsing: "unicity:a:b@x.com") == ContactReference(kind: .unicity, value: "a:b@x.com"))
        #expect(ContactReference(parsing: "email:a@x.com") == nil)
        #expect(ContactReference(parsing: "id:") == nil)
        #expect(ContactReference(parsing: "000R4M0T") == nil)
        #expect(ContactReference(kind: .hash, value: "ab").description == "hash:ab")
    }
}

@Suite struct RateLimitInfoTests {
    let now: Int64 = 1_700_000_000_000

    @Test func resetIsReadAsSecondsFromNowEpochSecondsOrEpochMilliseconds() {
        #expect(RateLimitInfo.absoluteMs(reset: 30, nowMs: now) == now + 30_000)
        #expect(RateLimitInfo.absoluteMs(reset: 1_700_000_060, nowMs: now) == 1_700_000_060_000)
        #expect(RateLimitInfo.absoluteMs(reset: 1_700_000_060_500, nowMs: now) == 1_700_000_060_500)
    }

    @Test func headersAreRead() {
        let headers: HTTPHeaders = [
            "x-ratelimit-limit": "20", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2", "Retry-After": "3",
        ]
        let info = RateLimitInfo(headers: headers, nowMs: now)
        #expect(info == RateLimitInfo(limit: 20, remaining: 0, resetAtMs: now + 2_000, retryAtMs: now + 3_000))
        #expect(info?.pauseUntilMs == now + 3_000)
        #expect(RateLimitInfo(headers: ["Content-Type": "application/json"], nowMs: now) == nil)
        #expect(RateLimitInfo(headers: ["Retry-After": "soon"], nowMs: now) == nil)
        #expect(
            RateLimitInfo(headers: ["Retry-After": "Tue, 14 Nov 2023 22:15:20 GMT"], nowMs: now)
                == RateLimitInfo(retryAtMs: now + 120_000))
    }
}
