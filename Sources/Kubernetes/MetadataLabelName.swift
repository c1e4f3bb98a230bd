/// Prometheus label names for Kubernetes label keys.
public enum MetadataLabelName {
    /// `prefix` + `key` with every character outside `[a-zA-Z0-9_]` replaced by `_`:
    /// `("destination_", "account")` → `destination_account`,
    /// `("destination_", "app.kubernetes.io/name")` → `destination_app_kubernetes_io_name`.
    /// Two keys can map to one name (`a.b` and `a/b`); configurations should reject that.
    public static func make(prefix: String, key: String) -> String {
        var name = prefix
        for scalar in key.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_": name.unicodeScalars.append(scalar)
            default: name.append("_")
            }
        }
        return name
    }

    /// Whether `key` is a valid Kubernetes label key: an optional DNS-subdomain prefix and `/`,
    /// then a name of at most 63 characters of `[A-Za-z0-9._-]` that starts and ends with an
    /// alphanumeric.
    public static func isValidKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.last else { return false }
        if parts.count == 2 {
            let prefix = parts[0]
            guard !prefix.isEmpty, prefix.count <= 253,
                prefix.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isDNSLabel)
            else { return false }
        }
        guard !name.isEmpty, name.count <= 63, let first = name.first, let last = name.last,
            isAlphanumeric(first), isAlphanumeric(last)
        else { return false }
        return name.allSatisfy { isAlphanumeric($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    private static func isDNSLabel(_ label: Substring) -> Bool {
        guard !label.isEmpty, label.count <= 63, let first = label.first, let last = label.last,
            isLowerAlphanumeric(first), isLowerAlphanumeric(last)
        else { return false }
        return label.allSatisfy { isLowerAlphanumeric($0) || $0 == "-" }
    }

    private static func isAlphanumeric(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber)
    }

    private static func isLowerAlphanumeric(_ c: Character) -> Bool {
        c.isASCII && (c.isLowercase || c.isNumber)
    }
}
