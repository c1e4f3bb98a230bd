import ArgumentParser
import CAllocator

@main
struct LogMetrics: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "logmetrics",
        abstract: "Per-route Prometheus metrics from Envoy access logs.",
        discussion: """
            Reads Envoy access logs (Istio and Envoy Gateway JSON, Istio TEXT, raw or wrapped by \
            the container runtime) from files or standard input, and exposes request counters and \
            latency histograms by route, error type, response flags and slowness.

              kubectl logs -f deploy/istio-ingressgateway -n istio-system | logmetrics
              logmetrics report --format prometheus access.log
            """,
        version: version,
        subcommands: [Serve.self, Report.self, Top.self, Explain.self, CheckConfig.self],
        defaultSubcommand: Serve.self
    )

    static func main() async {
        // glibc's default: large buffers mapped on their own and given back at free, always.
        lm_allocator_fix_mmap_threshold(128 * 1024)
        await main(nil)
    }
}
