/// A configuration problem, named by file, line and key so that it can be fixed without guessing.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 when the problem has no single place (the file as a whole).
    public var line: Int
    public var column: Int
    /// The key path, e.g. `routes[2].match.path_regex`.
    public var key: String
    public var message: String

    public init(file: String, line: Int = 0, column: Int = 0, key: String = "", message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        var place = file
        if line > 0 { place += column > 0 ? ":\(line):\(column)" : ":\(line)" }
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}
