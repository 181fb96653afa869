import Testing
@testable import SiraData

/// Bad templates are refused with the template's name and the line of the fault; the expected
/// lines are counted from the template text given here.
@Suite struct JinjaErrorTests {
    @Test func syntaxErrorNamesTemplateAndLine() {
        let source = "line one\n{% if x %}\nok\n{% for a in %}\n{% endif %}"
        #expect(throws: JinjaError.self) { try JinjaTemplate(source, name: "t.jinja") }
        do { _ = try JinjaTemplate(source, name: "t.jinja") } catch {
            #expect(error.template == "t.jinja")
            #expect(error.line == 4)
            #expect(error.kind == .syntax)
        }
    }

    @Test func unclosedBlockIsRefused() throws {
        do { _ = try JinjaTemplate("a\n{% if x %}b", name: "u.jinja"); Issue.record("accepted") } catch {
            #expect(error.description.contains("u.jinja"))
            #expect(error.description.contains("endif"))
        }
    }

    @Test func raiseExceptionCarriesMessageAndLine() throws {
        let t = try JinjaTemplate("x\n\n{{ raise_exception('roles must alternate') }}", name: "r.jinja")
        do { _ = try t.render([:]); Issue.record("rendered") } catch {
            #expect(error.kind == .raised)
            #expect(error.line == 3)
            #expect(error.message == "roles must alternate")
        }
    }

    @Test func attributeOfUndefinedIsARuntimeError() throws {
        let t = try JinjaTemplate("{{ missing.field }}", name: "m.jinja")
        do { _ = try t.render([:]); Issue.record("rendered") } catch {
            #expect(error.kind == .runtime)
            #expect(error.description.contains("missing"))
        }
    }
}
