import Foundation
import Kubernetes
import Testing

@testable import KubernetesTestSupport

/// List and watch against ``FakeAPIServer``: what the index answers, and what the client asks.
@Suite struct KubernetesMetadataTests {
    static let reviews = FakePod(
        name: "reviews-v1-7d9f8b6c5d-x2x9q", ip: "10.0.1.5",
        labels: [
            "account": "acme", "application": "reviews", "scope": "public", "pod-template-hash": "7d9f8b6c5d",
            "team": "not-kept",
        ],
        owner: ("ReplicaSet", "reviews-v1-7d9f8b6c5d"))
    static let ratings = FakePod(
        namespace: "rating", name: "ratings-0", ip: "10.0.2.7", ipv6: "fd00::27",
        labels: ["account": "globex", "application": "ratings"], owner: ("StatefulSet", "ratings"))

    @Test func initialListFillsTheIndexAndTheWatchStartsFromItsVersion() async throws {
        try await withMetadata(
            serviceLabels: ["team"],
            prepare: { server in
                server.apply(.added, .pod(Self.reviews))
                server.apply(.added, .pod(Self.ratings))
                server.apply(.added, .service(FakeService(name: "reviews", labels: ["team": "books", "tier": "x"])))
            }
        ) { server, metadata in
            #expect(metadata.isSynced)
            let pod = try #require(metadata.pod(ip: "10.0.1.5"))
            #expect(pod.namespace == "shop")
            #expect(pod.name == "reviews-v1-7d9f8b6c5d-x2x9q")
            #expect(pod.workload == "reviews-v1")
            #expect(pod.labels == ["account": "acme", "application": "reviews", "scope": "public"])
            #expect(metadata.pod(ip: "fd00::27")?.name == "ratings-0")
            #expect(metadata.pod(ip: "10.0.2.7")?.workload == "ratings")
            #expect(metadata.pod(upstreamHost: "[fd00::27]:9080")?.labels["account"] == "globex")
            #expect(metadata.podLabels(namespace: "shop", name: "reviews-v1-7d9f8b6c5d-x2x9q")?["scope"] == "public")
            #expect(metadata.serviceLabels(namespace: "shop", name: "reviews") == ["team": "books"])
            #expect(metadata.pod(ip: "10.9.9.9") == nil)

            let list = try #require(server.requests("pods", watch: false).first)
            #expect(list.path == "/api/v1/pods")
            #expect(list.query["resourceVersion"] == "0")
            #expect(list.query["limit"] == "500")
            await eventually("a pod watch") { !server.requests("pods", watch: true).isEmpty }
            let watch = try #require(server.requests("pods", watch: true).first)
            #expect(watch.query["resourceVersion"] == String(server.version))
            #expect(watch.query["allowWatchBookmarks"] == "true")
            #expect(Int(watch.query["timeoutSeconds"] ?? "") ?? 0 >= 300)
            #expect(server.requests("services", watch: false).count == 1)
        }
    }

    @Test func watchEventsAddChangeAndRemovePods() async throws {
        try await withMetadata { server, metadata in
            await eventually("a pod watch") { server.openWatches == 1 }
            let before = metadata.generation
            server.apply(.added, .pod(Self.reviews))
            await eventually("the added pod") { metadata.pod(ip: "10.0.1.5") != nil }
            #expect(metadata.generation > before)

            var relabelled = Self.reviews
            relabelled.labels["scope"] = "internal"
            let generation = metadata.generation
            server.apply(.modified, .pod(relabelled))
            await eventually("the new label") { metadata.podLabels(ip: "10.0.1.5")?["scope"] == "internal" }
            #expect(metadata.generation > generation)

            // A status-only change (new resourceVersion, same kept labels and IP) moves nothing.
            let unchanged = metadata.generation
            server.apply(.modified, .pod(relabelled))
            await eventually("the event") { metadata.statistics.pods.events == 3 }
            #expect(metadata.generation == unchanged)

            server.apply(.deleted, .pod(relabelled))
            await eventually("the deletion") { metadata.pod(ip: "10.0.1.5") == nil }
            #expect(metadata.pod(namespace: "shop", name: Self.reviews.name) == nil)
            #expect(metadata.statistics.pods.resourceVersion == String(server.version))
        }
    }

    @Test func bookmarksMoveTheVersionTheNextWatchStartsFrom() async throws {
        try await withMetadata { server, metadata in
            await eventually("a pod watch") { server.openWatches == 1 }
            server.advanceVersion(by: 40)
            server.bookmark()
            let bookmarked = String(server.version)
            await eventually("the bookmark") { metadata.statistics.pods.bookmarks == 1 }
            #expect(metadata.statistics.pods.resourceVersion == bookmarked)
            server.endWatches()
            await eventually("a second watch") { server.requests("pods", watch: true).count == 2 }
            #expect(server.requests("pods", watch: true).last?.query["resourceVersion"] == bookmarked)
            // A watch the server ends normally is not a failure and needs no new list.
            #expect(metadata.statistics.pods.failures == 0)
            #expect(server.requests("pods", watch: false).count == 1)
        }
    }

    @Test func expiredVersionInAWatchErrorEventRelistsAndSeesWhatWasMissed() async throws {
        try await withMetadata(prepare: { $0.apply(.added, .pod(Self.reviews)) }) { server, metadata in
            await eventually("a pod watch") { server.openWatches == 1 }
            // The connection breaks; meanwhile the pod goes, another comes, and history is
            // compacted, so the watch from the old version gets an ERROR event with code 410.
            server.dropWatches()
            server.apply(.deleted, .pod(Self.reviews))
            server.apply(.added, .pod(Self.ratings))
            server.compact()
            await eventually("the relist") { metadata.pod(ip: "10.0.2.7") != nil }
            #expect(metadata.pod(ip: "10.0.1.5") == nil)
            let lists = server.requests("pods", watch: false)
            #expect(lists.count == 2)
            // After 410 the list is a consistent read: no resourceVersion.
            #expect(lists.last?.query["resourceVersion"] == nil)
            #expect(metadata.statistics.pods.expiries == 1)
            #expect(metadata.statistics.pods.lists == 2)
            await eventually("a watch from the new list") {
                server.requests("pods", watch: true).last?.query["resourceVersion"] == String(server.version)
            }
        }
    }

    @Test func errorEventOnAnOpenWatchRelists() async throws {
        try await withMetadata { server, metadata in
            await eventually("a pod watch") { server.openWatches == 1 }
            server.sendErrorEvent(code: 410)
            await eventually("the relist") { server.requests("pods", watch: false).count == 2 }
            #expect(metadata.statistics.pods.expiries == 1)
            await eventually("the watch again") { server.openWatches == 1 }
        }
    }

    @Test func httpGoneOnListAndOnWatchRelists() async throws {
        try await withMetadata(prepare: { server in
            server.apply(.added, .pod(Self.reviews))
            server.failNext("pods", watch: false, status: 410)
        }) { server, metadata in
            let lists = server.requests("pods", watch: false)
            #expect(lists.count == 2)
            #expect(lists[0].query["resourceVersion"] == "0")
            #expect(lists[1].query["resourceVersion"] == nil)
            #expect(metadata.pod(ip: "10.0.1.5") != nil)

            await eventually("a pod watch") { server.openWatches == 1 }
            server.failNext("pods", watch: true, status: 410)
            server.endWatches()
            await eventually("the relist") { server.requests("pods", watch: false).count == 3 }
            #expect(metadata.statistics.pods.expiries == 2)
            #expect(metadata.statistics.pods.failures == 0)
        }
    }

    @Test func droppedConnectionReconnectsWithBackoffFromTheLastVersion() async throws {
        try await withMetadata { server, metadata in
            await eventually("a pod watch") { server.openWatches == 1 }
            server.apply(.added, .pod(Self.reviews))
            await eventually("the pod") { metadata.pod(ip: "10.0.1.5") != nil }
            let version = String(server.version)
            server.dropWatches()
            let dropped = ContinuousClock.now
            await eventually("a second watch") { server.requests("pods", watch: true).count == 2 }
            let second = try #require(server.requests("pods", watch: true).last)
            #expect(second.query["resourceVersion"] == version)
            // The first backoff is drawn from [20 ms, 40 ms].
            #expect(dropped.duration(to: second.time) >= .milliseconds(20))
            #expect(metadata.statistics.pods.failures == 1)
            #expect(metadata.statistics.pods.lastError?.contains("watch") == true)
            #expect(server.requests("pods", watch: false).count == 1)

            server.apply(.added, .pod(Self.ratings))
            await eventually("the pod after reconnecting") { metadata.pod(ip: "10.0.2.7") != nil }
        }
    }

    @Test func failingListsAreRetriedWithGrowingWaits() async throws {
        try await withMetadata(
            prepare: { server in
                server.apply(.added, .pod(Self.reviews))
                for _ in 0..<3 { server.failNext("pods", watch: false, status: 500) }
            }
        ) { server, metadata in
            let lists = server.requests("pods", watch: false)
            #expect(lists.count == 4)
            #expect(metadata.statistics.pods.failures == 3)
            #expect(metadata.statistics.pods.lastError?.contains("HTTP 500") == true)
            // Waits of [20, 40], [40, 80] and [80, 160] ms between the four attempts.
            #expect(lists[0].time.duration(to: lists[1].time) >= .milliseconds(20))
            #expect(lists[2].time.duration(to: lists[3].time) >= .milliseconds(80))
            #expect(metadata.pod(ip: "10.0.1.5") != nil)
        }
    }

    @Test func aReusedIPBelongsToTheNewPod() async throws {
        try await withMetadata { server, metadata in
            await eventually("a pod watch") { server.openWatches == 1 }
            // Pod A goes, pod B gets its IP.
            let a = FakePod(name: "a", ip: "10.0.3.3", labels: ["account": "a"], created: "2024-05-01T10:00:00Z")
            let b = FakePod(name: "b", ip: "10.0.3.3", labels: ["account": "b"], created: "2024-05-01T10:05:00Z")
            server.apply(.added, .pod(a))
            await eventually("pod a") { metadata.podLabels(ip: "10.0.3.3") == ["account": "a"] }
            server.apply(.deleted, .pod(a))
            server.apply(.added, .pod(b))
            await eventually("pod b") { metadata.podLabels(ip: "10.0.3.3") == ["account": "b"] }

            // Pod C is still terminating when pod D is given its IP; C's late updates and its
            // deletion do not take the IP back.
            var c = FakePod(name: "c", ip: "10.0.4.4", labels: ["account": "c"], created: "2024-05-01T10:00:00Z")
            let d = FakePod(name: "d", ip: "10.0.4.4", labels: ["account": "d"], created: "2024-05-01T10:09:00Z")
            server.apply(.added, .pod(c))
            await eventually("pod c") { metadata.podLabels(ip: "10.0.4.4") == ["account": "c"] }
            server.apply(.added, .pod(d))
            await eventually("pod d") { metadata.podLabels(ip: "10.0.4.4") == ["account": "d"] }
            c.deleting = true
            server.apply(.modified, .pod(c))
            server.apply(.deleted, .pod(c))
            await eventually("c gone") { metadata.pod(namespace: "shop", name: "c") == nil }
            #expect(metadata.podLabels(ip: "10.0.4.4") == ["account": "d"])
            #expect(metadata.statistics.podIPCount == 2)
        }
    }

    @Test func lookupsFromManyTasksWhileEventsArrive() async throws {
        try await withMetadata { server, metadata in
            await eventually("a pod watch") { server.openWatches == 1 }
            let pods = (0..<50).map { FakePod(name: "p\($0)", ip: "10.0.7.\($0)", labels: ["account": "a"]) }
            async let readers: Int = withTaskGroup(of: Int.self) { group in
                for reader in 0..<4 {
                    group.addTask {
                        var answered = 0
                        let deadline = ContinuousClock.now.advanced(by: .milliseconds(300))
                        while ContinuousClock.now < deadline {
                            if metadata.pod(ip: "10.0.7.\(answered % 50)") != nil { answered += 1 }
                            _ = metadata.serviceLabels(namespace: "shop", name: "x\(reader)")
                            _ = metadata.generation
                            await Task.yield()
                        }
                        return answered
                    }
                }
                return await group.reduce(0, +)
            }
            for pod in pods { server.apply(.added, .pod(pod)) }
            for var pod in pods {
                pod.labels["account"] = "b"
                server.apply(.modified, .pod(pod))
            }
            _ = await readers
            await eventually("every change") { metadata.statistics.pods.events == 100 }
            #expect(metadata.statistics.podIPCount == 50)
            #expect((0..<50).allSatisfy { metadata.podLabels(ip: "10.0.7.\($0)") == ["account": "b"] })
        }
    }

    @Test func hostNetworkAndFinishedPodsClaimNoIP() async throws {
        try await withMetadata(prepare: { server in
            server.apply(.added, .pod(FakePod(name: "node-agent", ip: "192.168.0.10", hostNetwork: true)))
            server.apply(.added, .pod(FakePod(name: "job-done", ip: "10.0.5.5", phase: "Succeeded")))
            server.apply(.added, .pod(FakePod(name: "web", ip: "10.0.5.5", labels: ["account": "w"])))
        }) { _, metadata in
            #expect(metadata.pod(ip: "192.168.0.10") == nil)
            #expect(metadata.pod(ip: "10.0.5.5")?.name == "web")
            // Still known by name, for the labels of the pod a log file belongs to.
            #expect(metadata.pod(namespace: "shop", name: "node-agent") != nil)
        }
    }

    @Test func servicesKeepOnlyTheirConfiguredLabels() async throws {
        try await withMetadata(
            podLabels: [], serviceLabels: ["team", "app.kubernetes.io/part-of"],
            prepare: { server in
                server.apply(
                    .added,
                    .service(
                        FakeService(
                            name: "checkout",
                            labels: ["team": "payments", "app.kubernetes.io/part-of": "shop", "x": "y"])))
            }
        ) { server, metadata in
            #expect(
                metadata.serviceLabels(namespace: "shop", name: "checkout")
                    == ["team": "payments", "app.kubernetes.io/part-of": "shop"])
            await eventually("a service watch") { server.requests("services", watch: true).count == 1 }
            server.apply(.modified, .service(FakeService(name: "checkout", labels: ["team": "billing"])))
            await eventually("the change") {
                metadata.serviceLabels(namespace: "shop", name: "checkout") == ["team": "billing"]
            }
            server.apply(.deleted, .service(FakeService(name: "checkout")))
            await eventually("the deletion") { metadata.serviceLabels(namespace: "shop", name: "checkout") == nil }
            #expect(metadata.statistics.services?.events == 2)
        }
    }

    @Test func servicesAreNotWatchedWithoutServiceLabels() async throws {
        try await withMetadata { server, metadata in
            #expect(server.requests("services", watch: false).isEmpty)
            #expect(metadata.statistics.services == nil)
        }
    }

    @Test func namespaceAndSelectorsNarrowEveryRequest() async throws {
        try await withMetadata(
            configure: { configuration in
                configuration.namespace = "shop"
                configuration.podSelector = .init(labels: "app in (reviews,ratings)", fields: "status.phase=Running")
            },
            prepare: { server in
                server.apply(.added, .pod(Self.reviews))
                server.apply(.added, .pod(Self.ratings))
            }
        ) { server, metadata in
            await eventually("a pod watch") { server.openWatches == 1 }
            for request in server.requests {
                #expect(request.path == "/api/v1/namespaces/shop/pods")
                #expect(request.query["labelSelector"] == "app in (reviews,ratings)")
                #expect(request.query["fieldSelector"] == "status.phase=Running")
            }
            #expect(metadata.pod(ip: "10.0.1.5") != nil)
            #expect(metadata.pod(ip: "10.0.2.7") == nil)
        }
    }

    @Test func pagedListsFollowContinueTokensAndRestartWhenOneExpires() async throws {
        try await withMetadata(
            configure: { $0.timing.pageSize = 2 },
            prepare: { server in
                for n in 0..<5 { server.apply(.added, .pod(FakePod(name: "p\(n)", ip: "10.0.6.\(n)"))) }
            }
        ) { server, metadata in
            let pages = server.requests("pods", watch: false)
            #expect(pages.count == 3)
            #expect(pages[1].query["continue"] != nil)
            #expect(pages[1].query["resourceVersion"] == nil)
            #expect(metadata.statistics.podCount == 5)

            // A relist whose second page finds its token expired starts over.
            await eventually("a pod watch") { server.openWatches == 1 }
            server.setExpireContinueTokens(true)
            server.sendErrorEvent(code: 410)
            await eventually("the restarted list") { server.requests("pods", watch: false).count >= 5 }
            server.setExpireContinueTokens(false)
            await eventually("the list complete again") { metadata.statistics.pods.lists == 2 }
            #expect(metadata.statistics.podCount == 5)
        }
    }

    @Test func waitForInitialListGivesUpWhenTheServerNeverAnswers() async throws {
        try await withMetadata(prepare: { $0.setHangs(true) }, waitForList: false) { server, metadata in
            let start = ContinuousClock.now
            #expect(!metadata.waitForInitialList(timeout: .milliseconds(300)))
            let waited = start.duration(to: .now)
            #expect(waited >= .milliseconds(300) && waited < .seconds(2))
            #expect(!metadata.isSynced)
            // Lookups answer at once, with nothing.
            #expect(metadata.pod(ip: "10.0.1.5") == nil)
            // Stopping ends the hanging request without waiting for a timeout.
            let stopping = ContinuousClock.now
            metadata.stop()
            #expect(stopping.duration(to: .now) < .seconds(1))
            #expect(server.requests("pods", watch: false).count == 1)
        }
    }

    @Test func theTokenFileIsReadAgainAfterItRotates() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("logmetrics-token-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("token").path
        try "first-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try await withMetadata(
            configure: { configuration in
                configuration.tokenFile = tokenFile
                configuration.timing.tokenRefreshInterval = .zero
            }
        ) { server, _ in
            #expect(server.requests.first?.authorization == "Bearer first-token")
            await eventually("a pod watch") { server.openWatches == 1 }
            // The kubelet replaces a projected token by renaming a new file over it.
            try "second-token".write(toFile: tokenFile, atomically: true, encoding: .utf8)
            server.endWatches()
            await eventually("a second watch") { server.requests("pods", watch: true).count == 2 }
            #expect(server.requests.last?.authorization == "Bearer second-token")
        }
    }

    @Test func unreachableServerIsRetriedAndReported() async throws {
        // A port nothing listens on: take one from a server that then goes away.
        let server = try await FakeAPIServer.start()
        let url = server.url
        try await server.shutdown()
        let lines = LogLines()
        let metadata = try KubernetesMetadata(
            configuration: testConfiguration(url: url), log: { lines.append($0) })
        metadata.start()
        await eventually("two failures") { metadata.statistics.pods.failures >= 2 }
        metadata.stop()
        #expect(!metadata.isSynced)
        // The same failure is logged once, not on every retry.
        #expect(lines.lines.count == 1)
        #expect(lines.lines.first?.contains("pods: list failed") == true)
    }
}
