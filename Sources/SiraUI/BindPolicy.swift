import Foundation

/// Who may reach the server. Loopback is the default and needs nothing; any other address must be
/// asked for explicitly (`--allow-remote`) and then every request must carry the token, because
/// the pages show paths, parameters and logs of the workspace.
public struct BindPolicy: Sendable, Equatable {
    public var host: String
    public var token: String?

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case remoteNotAllowed(String)
        case tokenRequired(String)

        public var description: String {
            switch self {
            case let .remoteNotAllowed(host):
                return "--host \(host): not a loopback address; pass --allow-remote (and a token) to serve other machines"
            case let .tokenRequired(host):
                return "--host \(host): serving a non-loopback address needs a token (--token or SIRA_UI_TOKEN)"
            }
        }
    }

    /// Validates the combination of host, explicit permission and token.
    public init(host: String, allowRemote: Bool, token: String?) throws {
        let token = token.flatMap { $0.isEmpty ? nil : $0 }
        if !Self.isLoopback(host) {
            guard allowRemote else { throw Failure.remoteNotAllowed(host) }
            guard token != nil else { throw Failure.tokenRequired(host) }
        }
        self.host = host
        self.token = token
    }

    /// `localhost`, `127.0.0.0/8` and `::1`; everything else (including `0.0.0.0`) is remote.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
        return parts[0] == "127"
    }
}
