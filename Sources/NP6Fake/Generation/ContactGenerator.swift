/// Makes the fake's contacts from a seed: distinct ids, unicity e-mail addresses and hashes.
///
/// The first three contacts always cover the awkward cases a client must encode: a plain address,
/// one with a `+tag`, and one with non-ASCII letters and a `+tag` (`zoë.dupont+news@exemple.fr`
/// style). The rest are drawn at random, a few of them non-ASCII.
struct ContactGenerator {
    let seed: UInt64

    func makeContacts(count: Int) -> [FakeContact] {
        var random = SeededGenerator(seed: seed, stream: GeneratorStream.contacts)
        var ids = Set<String>()
        var unicities = Set<String>()
        var hashes = Set<String>()
        var contacts: [FakeContact] = []
        contacts.reserveCapacity(count)
        for index in 0..<max(0, count) {
            var id = Self.makeID(&random)
            while !ids.insert(id).inserted { id = Self.makeID(&random) }
            var unicity = Self.makeUnicity(index: index, &random)
            var suffix = 2
            while !unicities.insert(unicity).inserted {
                unicity = Self.numbered(unicity, suffix)
                suffix += 1
            }
            var hash = Self.makeHash(&random)
            while !hashes.insert(hash).inserted { hash = Self.makeHash(&random) }
            contacts.append(FakeContact(id: id, unicity: unicity, hash: hash))
        }
        return contacts
    }

    private static let base36 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    private static let hex = Array("0123456789abcdef")

    private static func makeID(_ random: inout SeededGenerator) -> String {
        "000" + String((0..<5).map { _ in base36[Int(random.next() % 36)] })
    }

    private static func makeHash(_ random: inout SeededGenerator) -> String {
        let high = random.next()
        let low = random.next()
        return String(
            (0..<32).map { nibble in
                let half = nibble < 16 ? high : low
                return hex[Int((half >> UInt64(60 - 4 * (nibble % 16))) & 0xF)]
            }
        )
    }

    private static let asciiFirstNames = [
        "alice", "bruno", "camille", "david", "emma", "fabien", "gabriel", "hugo", "ines", "jules",
        "karim", "louise", "manon", "nicolas", "olivia", "paul", "quentin", "rose", "sarah", "thomas",
        "ulysse", "victor", "william", "yanis",
    ]
    private static let accentedFirstNames = [
        "zoë", "josé", "françois", "hélène", "chloé", "noël", "jürgen", "søren", "åsa", "léa",
    ]
    private static let asciiLastNames = [
        "dupont", "martin", "bernard", "durand", "petit", "leroy", "moreau", "simon", "laurent", "michel",
        "garcia", "roux", "fournier", "girard", "bonnet", "dubois", "lambert", "fontaine", "rousseau", "blanc",
    ]
    private static let accentedLastNames = ["lefèvre", "müller", "garcía", "gérard", "brûlé", "øster"]
    private static let domains = [
        "exemple.fr", "example.com", "np6.com", "courriel.fr", "mail.test", "posteo.de", "free.fr",
    ]
    private static let tags = ["news", "promo", "np6", "sms", "2024", "shop"]

    private static func makeUnicity(index: Int, _ random: inout SeededGenerator) -> String {
        switch index {
        case 0: return "alice.martin@example.com"
        case 1: return "bruno.durand+promo@example.com"
        case 2: return "zoë.dupont+news@exemple.fr"
        default: break
        }
        let accented = random.chance(0.12)
        let first = accented ? pick(accentedFirstNames, &random) : pick(asciiFirstNames, &random)
        let last = random.chance(0.3) && accented ? pick(accentedLastNames, &random) : pick(asciiLastNames, &random)
        var local: String
        switch random.next() % 5 {
        case 0: local = "\(first)_\(last)"
        case 1: local = "\(first.first.map(String.init) ?? "")\(last)"
        case 2: local = "\(first)\(last)\(random.next() % 100)"
        default: local = "\(first).\(last)"
        }
        if random.chance(0.2) {
            local += "+" + pick(tags, &random)
        }
        return local + "@" + pick(domains, &random)
    }

    private static func numbered(_ unicity: String, _ suffix: Int) -> String {
        guard let at = unicity.lastIndex(of: "@") else { return unicity + "\(suffix)" }
        let local = unicity[..<at]
        if let plus = local.firstIndex(of: "+") {
            return "\(local[..<plus])\(suffix)\(local[plus...])\(unicity[at...])"
        }
        return "\(local)\(suffix)\(unicity[at...])"
    }

    private static func pick(_ values: [String], _ random: inout SeededGenerator) -> String {
        values[Int(random.next() % UInt64(values.count))]
    }
}
