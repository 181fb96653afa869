import Foundation
import Hummingbird

/// Checks before any route: a path with a `..` segment or an encoded dot, slash or backslash is a
/// 400 whatever the route (so no handler ever sees a traversal attempt), and when the server has a
/// token every request must carry it (`Authorization: Bearer …` or `?token=`).
struct RequestGuard<Context: RequestContext>: RouterMiddleware {
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.isSuspicious(path) {
            throw HTTPError(.badRequest, message: "path '\(path)': '..' and encoded separators are not allowed")
        }
        if let token {
            let bearer = request.headers[.authorization]
            let query = request.uri.queryParameters.get("token")
            guard bearer == "Bearer \(token)" || query == token else {
                throw HTTPError(.unauthorized, message: "this server needs its token (Authorization: Bearer … or ?token=)")
            }
        }
        return try await next(request, context)
    }

    static func isSuspicious(_ rawPath: String) -> Bool {
        let lower = rawPath.lowercased()
        if lower.contains("%2e") || lower.contains("%2f") || lower.contains("%5c") || lower.contains("%00") || lower.contains("\\") {
            return true
        }
        return rawPath.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == ".." || $0 == "." }
    }
}
