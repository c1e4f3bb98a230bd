import Foundation

/// A pod or service as the fake API server writes it: the fields a real server writes that the
/// client reads, plus some it must skip (`spec.containers`, `managedFields`, `status.conditions`).
enum FakeObject: Sendable {
    case pod(FakePod)
    case service(FakeService)

    var resource: String {
        switch self {
        case .pod: "pods"
        case .service: "services"
        }
    }

    var namespace: String {
        switch self {
        case .pod(let pod): pod.namespace
        case .service(let service): service.namespace
        }
    }

    var key: String {
        switch self {
        case .pod(let pod): "\(pod.namespace)/\(pod.name)"
        case .service(let service): "\(service.namespace)/\(service.name)"
        }
    }

    func json(resourceVersion: Int) -> String {
        let object: [String: Any]
        switch self {
        case .pod(let pod): object = pod.object(resourceVersion: resourceVersion)
        case .service(let service): object = service.object(resourceVersion: resourceVersion)
        }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

struct FakePod: Sendable {
    var namespace = "shop"
    var name: String
    var ip: String?
    var ipv6: String?
    var labels: [String: String] = [:]
    var created = "2024-05-01T10:00:00Z"
    var deleting = false
    var hostNetwork = false
    var phase = "Running"
    /// kind and name of the controlling owner.
    var owner: (kind: String, name: String)?

    func object(resourceVersion: Int) -> [String: Any] {
        var metadata: [String: Any] = [
            "name": name, "namespace": namespace, "uid": "uid-\(namespace)-\(name)",
            "resourceVersion": String(resourceVersion), "creationTimestamp": created,
            "labels": labels,
            "managedFields": [["manager": "kube-controller-manager", "operation": "Update", "fieldsV1": ["f:x": [:]]]],
        ]
        if deleting {
            metadata["deletionTimestamp"] = "2024-05-01T11:00:00Z"
            metadata["deletionGracePeriodSeconds"] = 30
        }
        if let owner {
            metadata["ownerReferences"] = [
                [
                    "apiVersion": "apps/v1", "kind": owner.kind, "name": owner.name, "uid": "owner-uid",
                    "controller": true, "blockOwnerDeletion": true,
                ]
            ]
        }
        var status: [String: Any] = [
            "phase": phase, "hostIP": "192.168.0.10",
            "conditions": [["type": "Ready", "status": "True", "lastTransitionTime": created]],
        ]
        var ips: [[String: Any]] = []
        if let ip {
            status["podIP"] = ip
            ips.append(["ip": ip])
        }
        if let ipv6 { ips.append(["ip": ipv6]) }
        if !ips.isEmpty { status["podIPs"] = ips }
        return [
            "kind": "Pod", "apiVersion": "v1", "metadata": metadata,
            "spec": [
                "nodeName": "node-a", "hostNetwork": hostNetwork,
                "containers": [["name": "app", "image": "example/app:1", "ports": [["containerPort": 8080]]]],
            ],
            "status": status,
        ]
    }
}

struct FakeService: Sendable {
    var namespace = "shop"
    var name: String
    var labels: [String: String] = [:]

    func object(resourceVersion: Int) -> [String: Any] {
        [
            "kind": "Service", "apiVersion": "v1",
            "metadata": [
                "name": name, "namespace": namespace, "uid": "uid-svc-\(name)",
                "resourceVersion": String(resourceVersion), "labels": labels,
            ],
            "spec": ["clusterIP": "10.96.0.10", "ports": [["port": 80, "targetPort": 8080]]],
        ]
    }
}
