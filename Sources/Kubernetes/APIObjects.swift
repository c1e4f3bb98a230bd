/// The parts of Kubernetes API objects that the metadata index reads, as the API server writes
/// them in JSON. Every other field is skipped by the decoder, and optional fields may be absent
/// (a BOOKMARK event's object has only `metadata.resourceVersion`).

struct ObjectMeta: Decodable, Sendable {
    var name: String?
    var namespace: String?
    var resourceVersion: String?
    var labels: [String: String]?
    /// RFC 3339 in UTC with whole seconds (`2024-05-01T10:00:00Z`), so it orders as text.
    var creationTimestamp: String?
    var deletionTimestamp: String?
    var ownerReferences: [OwnerReference]?
}

struct OwnerReference: Decodable, Sendable {
    var kind: String
    var name: String
    var controller: Bool?
}

/// `metadata` of a list: where a watch starts, and the token of the next page.
struct ListMeta: Decodable, Sendable {
    var resourceVersion: String?
    var continueToken: String?

    enum CodingKeys: String, CodingKey {
        case resourceVersion
        case continueToken = "continue"
    }
}

/// A list response (`PodList`, `ServiceList`).
struct ObjectList<Item: Decodable & Sendable>: Decodable, Sendable {
    var metadata: ListMeta
    var items: [Item]

    enum CodingKeys: String, CodingKey {
        case metadata, items
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decode(ListMeta.self, forKey: .metadata)
        // An empty list may be written as `"items": null`.
        items = try container.decodeIfPresent([Item].self, forKey: .items) ?? []
    }
}

/// The `Status` object of an error response or of a watch ERROR event.
struct StatusObject: Decodable, Sendable {
    var status: String?
    var message: String?
    var reason: String?
    var code: Int?
}

/// The first decoding pass of a watch event: its type decides how `object` is decoded.
struct WatchEventHeader: Decodable {
    var type: String
}

/// A watch event whose object is decoded as `Object`.
struct WatchEvent<Object: Decodable>: Decodable {
    var type: String
    var object: Object
}

/// An object with only its metadata read (bookmarks).
struct MetadataOnly: Decodable, Sendable {
    var metadata: ObjectMeta
}

/// A kind of object that can be listed and watched.
protocol WatchedResource: Decodable, Sendable {
    var metadata: ObjectMeta { get }
    /// The plural resource name in the core API group (`pods`, `services`).
    static var resource: String { get }
}

struct PodObject: WatchedResource {
    struct Spec: Decodable, Sendable {
        var hostNetwork: Bool?
    }

    struct Status: Decodable, Sendable {
        struct IP: Decodable, Sendable {
            var ip: String
        }

        var phase: String?
        var podIP: String?
        var podIPs: [IP]?
    }

    static let resource = "pods"
    var metadata: ObjectMeta
    var spec: Spec?
    var status: Status?
}

struct ServiceObject: WatchedResource {
    static let resource = "services"
    var metadata: ObjectMeta
}
