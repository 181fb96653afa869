/// The parsed form of a template: statements (text, outputs, control structures) holding
/// expressions. Lines are kept on statements so runtime errors can name them.
public indirect enum JinjaExpr {
    case literal(JinjaLiteral)
    case name(String)
    case attribute(JinjaExpr, String)
    case item(JinjaExpr, JinjaExpr)
    case slice(JinjaExpr, JinjaExpr?, JinjaExpr?, JinjaExpr?)
    case call(JinjaExpr, [JinjaExpr], [(String, JinjaExpr)])
    case filter(JinjaExpr, String, [JinjaExpr], [(String, JinjaExpr)])
    case test(JinjaExpr, String, [JinjaExpr], negated: Bool)
    case unary(String, JinjaExpr)
    case binary(String, JinjaExpr, JinjaExpr)
    case conditional(then: JinjaExpr, condition: JinjaExpr, otherwise: JinjaExpr?)
    case list([JinjaExpr])
    case dict([(JinjaExpr, JinjaExpr)])
}

public enum JinjaLiteral: Sendable {
    case none, bool(Bool), int(Int), double(Double), string(String)
}

public enum JinjaSetTarget {
    case names([String])
    case attribute(String, String)
}

public indirect enum JinjaStmt {
    case text(String)
    case output(JinjaExpr, line: Int)
    case ifChain([(JinjaExpr, [JinjaStmt])], otherwise: [JinjaStmt], line: Int)
    case forLoop(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaStmt], otherwise: [JinjaStmt], line: Int)
    case set(JinjaSetTarget, JinjaExpr, line: Int)
    case setBlock(String, [JinjaStmt], line: Int)
    case macro(name: String, parameters: [(String, JinjaExpr?)], body: [JinjaStmt], line: Int)
    case filterBlock(String, [JinjaStmt], line: Int)
    case breakLoop(line: Int)
    case continueLoop(line: Int)
}
