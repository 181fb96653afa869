import Foundation
import Testing
@testable import SiraData

/// Language features one by one against jinja2 itself, configured as transformers configures it
/// (trim_blocks, lstrip_blocks, loopcontrols, its tojson, raise_exception): whitespace control,
/// scoping, loops, slicing, operators, filters, tests, string and dict methods, undefined values.
@Suite struct JinjaSemanticsTests {
    static let snippets: [String] = [
        "a\n  {% if true %}\n  b\n  {% endif %}\nc",
        "a  {%- if true -%}  b  {%- endif -%}  c",
        "x {{- ' y ' -}} z",
        "{% for i in range(3) %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}|{% endfor %}",
        "{% set x = 1 %}{% for i in [1,2] %}{% set x = i %}{% endfor %}{{ x }}",
        "{% set ns = namespace(x=1) %}{% for i in [1,2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}",
        "{{ [1,2,3,4,5][::-1] }}{{ [1,2,3,4,5][1:4:2] }}{{ 'héllo'[1:] }}{{ 'abc'[-1] }}{{ [1,2,3][-2:] }}",
        "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }} {{ 'a' ~ 1 ~ none }}",
        "{{ 'a' in 'cat' }} {{ 2 in [1,2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }}",
        "{{ x is defined }} {{ x is undefined }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ {} is mapping }} {{ 4 is even }} {{ 9 is divisibleby 3 }}",
        "{{ '  pad  '|trim }}|{{ [1,2,3]|length }}|{{ 'abc'|length }}|{{ x|length }}|{{ [3,1,2]|sort }}|{{ ['a','b']|join(', ') }}|{{ 'ab'|upper }}",
        "{{ {'b': 1, 'a': [1, 2.5, 'x\"y', none, true]}|tojson }}|{{ {'b': 1, 'a': 2}|tojson(indent=2) }}|{{ 'é\\n'|tojson }}",
        "{{ 'a,b,,c'.split(',') }} {{ '  a b  '.split() }} {{ 'xxaxx'.strip('x') }} {{ '\\n\\nq\\n'.lstrip('\\n') }} {{ 'q  '.rstrip() }} {{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }}",
        "{{ 'Hello World'.lower() }} {{ 'hi there'.title() }} {{ 'abc'.replace('b', 'X') }} {{ {'a': 1}.get('a') }} {{ {'a': 1}.get('b', 'd') }}",
        "{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}{% for k, v in {'c': 3}|items %}{{ k }}{{ v }}{% endfor %}",
        "{% for i in [1,2,3,4] if i is odd %}{{ i }}{% else %}none{% endfor %}{% for i in [] %}x{% else %}empty{% endfor %}",
        "{% for i in range(10) %}{% if i == 3 %}{% continue %}{% endif %}{% if i == 6 %}{% break %}{% endif %}{{ i }}{% endfor %}",
        "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C') }}",
        "{{ 'yes' if 1 > 0 else 'no' }} {{ 'yes' if [] else 'no' }} {{ 'x' if false }}|{{ none }}|{{ true }}|{{ [1, 'a', none] }}|{{ {'a': 'b'} }}",
        "{{ [{'r': 'u', 'c': 1}, {'r': 'a', 'c': 2}]|selectattr('r', 'equalto', 'u')|list }}{{ [{'r': 'u'}, {'r': 'a'}]|map(attribute='r')|join }}{{ [{'r': 'u'}, {'r': 'a'}]|rejectattr('r', 'equalto', 'u')|list|length }}",
        "{{ x|default('dflt') }} {{ ''|default('d2', true) }} {{ [1,2]|first }} {{ [1,2]|last }} {{ [1,2,2,3]|unique|list }} {{ 'abc'|reverse }} {{ [1,2]|reverse|list }}",
        "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set s %}block {{ a }}{% endset %}{{ s }}",
        "line1\n{# comment #}\nline2\n    {# indented comment #}\nline3",
        "{% raw %}{{ not parsed }}{% endraw %}",
        "{{ \"double \\\"q\\\"\" }} {{ 'single \\'q\\'' }} {{ 'tab\\there' }}",
        "{%- set msgs = [{'role': 'user'}, {'role': 'assistant'}] %}{%- for m in msgs %}\n    {{- m.role }}\n{%- endfor %}",
        "{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1,2] == [1,2] }} {{ none == false }} {{ x == y }}",
        "{{ 10000000000 * 3 }} {{ 0.1 + 0.2 }} {{ 1e3 if false else 2.50 }} {{ -3|abs }} {{ '42'|int + 1 }}",
        "  {% if true %}\n    indented\n  {%+ if true %}keep{% endif %}\n{% endif %}",
        "{% filter upper %}shout {{ 'this' }}{% endfilter %}",
    ]

    static let script = #"""
import json, sys
import jinja2, jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment
def raise_exception(m): raise jinja2.exceptions.TemplateError(m)
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
out = []
for s in json.load(sys.stdin if len(sys.argv) < 2 else open(sys.argv[1])):
    try: out.append({"text": env.from_string(s).render()})
    except Exception as e: out.append({"error": str(e)})
print(json.dumps(out))
"""#

    @Test func eachFeatureRendersAsJinja2() throws {
        let dir = try scratchFolder("jinja-sem")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("snippets.json")
        try JSONSerialization.data(withJSONObject: Self.snippets).write(to: url)
        let reply = try JSONParser.parse(try runPython(Self.script, arguments: [url.path]))
        for (i, s) in Self.snippets.enumerated() {
            guard let expected = reply[i]?["text"]?.stringValue else {
                Issue.record("jinja2 failed on snippet \(i): \(reply[i]?["error"]?.stringValue ?? "?")")
                continue
            }
            do {
                let ours = try JinjaTemplate(s, name: "snippet\(i)").render([:])
                #expect(ours.utf8.elementsEqual(expected.utf8), "snippet \(i) \(s.debugDescription)\nours:   \(ours.debugDescription)\njinja2: \(expected.debugDescription)")
            } catch {
                Issue.record("snippet \(i) \(s.debugDescription): \(error); jinja2 gives \(expected.debugDescription)")
            }
        }
    }
}
