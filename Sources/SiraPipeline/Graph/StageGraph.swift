/// The stage graph of a manifest, expanded per task and variant (DESIGN.md §3):
///
/// ```
/// ingest@t ─┬─ tokenizer (trained on the tokenizer corpus' train splits, or loaded)
///           └─ tokenize@t (t's splits → token shards) ← tokenizer
/// base ← tokenizer, tokenize@c for c in the base corpus (HF or GGUF import: tokenizer only)
/// train@t:v ← base, tokenize@t            train:m ← base, tokenize@t for every adapted t
/// evaluate@t:v ← tokenizer, base, ingest@t + tokenize@t (eval split), train@t:v (train:m; none for :base)
/// package@t:v ← train@t:v, evaluate@t:v   package:m ← train:m, evaluate@t:m for every t
/// merge ← base, every train and evaluate stage    package:bundle ← merge, tokenizer, base
/// ```
/// With a `compare:` section the seed replicas are not packaged one by one: the bundle carries
/// the winners.
/// A task's data therefore reaches only its own stages, the multitask ones, and the tokenizer or
/// base when it is part of their corpus.
public struct StageGraph: Sendable {
    public struct Node: Sendable, Equatable {
        public var id: StageID
        public var dependencies: [StageID]
    }

    /// Nodes in a topological order (dependencies first).
    public private(set) var stages: [Node]

    public init(manifest m: Manifest) throws {
        var nodes: [Node] = []
        func add(_ id: StageID, _ deps: [StageID]) { nodes.append(Node(id: id, dependencies: deps)) }

        for t in m.tasks { add(StageID(.ingest, task: t.name), []) }
        switch m.tokenizer {
        case let .train(_, corpus): add(StageID(.tokenizer), corpus.map { StageID(.ingest, task: $0) })
        case .load, .gguf: add(StageID(.tokenizer), [])
        }
        let tokenizer = StageID(.tokenizer)
        for t in m.tasks { add(StageID(.tokenize, task: t.name), [StageID(.ingest, task: t.name), tokenizer]) }
        switch m.base {
        case let .builtin(b): add(StageID(.base), [tokenizer] + b.corpus.map { StageID(.tokenize, task: $0) })
        case .hf, .gguf: add(StageID(.base), [tokenizer])
        }
        let base = StageID(.base)
        let adapted = m.adaptedTasks.map(\.name)
        for v in m.adapters {
            if v.kind == .multitask {
                add(StageID(.train, variant: v.name), [base] + adapted.map { StageID(.tokenize, task: $0) })
            } else {
                for t in adapted { add(StageID(.train, task: t, variant: v.name), [base, StageID(.tokenize, task: t)]) }
            }
        }
        for t in adapted {
            add(StageID(.evaluate, task: t, variant: StageID.baseVariant), [tokenizer, base, StageID(.ingest, task: t), StageID(.tokenize, task: t)])
            for v in m.adapters {
                let trained = v.kind == .multitask ? StageID(.train, variant: v.name) : StageID(.train, task: t, variant: v.name)
                add(StageID(.evaluate, task: t, variant: v.name), [tokenizer, base, StageID(.ingest, task: t), StageID(.tokenize, task: t), trained])
            }
        }
        for v in m.adapters where m.comparison == nil {
            let shared = [tokenizer, base]
            if v.kind == .multitask {
                add(StageID(.package, variant: v.name), shared + [StageID(.train, variant: v.name)] + adapted.map { StageID(.evaluate, task: $0, variant: v.name) })
            } else {
                for t in adapted {
                    add(StageID(.package, task: t, variant: v.name), shared + [StageID(.train, task: t, variant: v.name), StageID(.evaluate, task: t, variant: v.name)])
                }
            }
        }
        if !adapted.isEmpty, !m.adapters.isEmpty {
            let trained = nodes.filter { $0.id.kind == .train }.map(\.id)
            let evaluated = nodes.filter { $0.id.kind == .evaluate }.map(\.id)
            add(StageID(.merge), [base] + trained + evaluated)
            add(StageID(.package, variant: StageID.bundleVariant), [StageID(.merge), tokenizer, base])
        }
        try self.init(nodes: nodes)
    }

    /// A graph from explicit nodes (tests, synthetic pipelines). Checks that ids are unique, that
    /// every dependency exists and that there is no cycle; orders the nodes topologically.
    public init(nodes: [Node]) throws {
        var byID: [StageID: Node] = [:]
        for n in nodes {
            if byID[n.id] != nil { throw StageGraphError.duplicate(n.id) }
            byID[n.id] = n
        }
        for n in nodes {
            for d in n.dependencies where byID[d] == nil { throw StageGraphError.missingDependency(n.id, d) }
        }
        // Kahn's algorithm, keeping the given order among ready nodes so the result is stable.
        var indegree = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, Set($0.dependencies).count) })
        var dependants: [StageID: [StageID]] = [:]
        for n in nodes { for d in Set(n.dependencies) { dependants[d, default: []].append(n.id) } }
        // The ready set is a min-heap of positions in `nodes` (n log n): popping the smallest
        // position is the order a sorted list would give, without its linear inserts.
        var ordered: [Node] = []
        var ready = PositionHeap()
        for (i, n) in nodes.enumerated() where indegree[n.id] == 0 { ready.push(i) }
        let position = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($0.element.id, $0.offset) })
        while let next = ready.pop() {
            let id = nodes[next].id
            ordered.append(byID[id]!)
            for d in dependants[id] ?? [] {
                indegree[d]! -= 1
                if indegree[d] == 0 { ready.push(position[d]!) }
            }
        }
        if ordered.count != nodes.count {
            let stuck = nodes.map(\.id).filter { indegree[$0]! > 0 }.sorted()
            throw StageGraphError.cycle(stuck)
        }
        stages = ordered
    }

    public func node(_ id: StageID) -> Node? { stages.first { $0.id == id } }

    /// Every stage that depends on `id`, directly or not.
    public func dependants(of id: StageID) -> Set<StageID> {
        var out: Set<StageID> = []
        var frontier = [id]
        while let next = frontier.popLast() {
            for n in stages where n.dependencies.contains(next) && !out.contains(n.id) {
                out.insert(n.id)
                frontier.append(n.id)
            }
        }
        return out
    }
}

public enum StageGraphError: Error, CustomStringConvertible, Equatable {
    case duplicate(StageID)
    case missingDependency(StageID, StageID)
    case cycle([StageID])

    public var description: String {
        switch self {
        case let .duplicate(id): return "stage \(id) appears twice"
        case let .missingDependency(id, dep): return "stage \(id) depends on \(dep), which is not in the pipeline"
        case let .cycle(ids): return "stages \(ids.map(\.description).joined(separator: ", ")) depend on each other in a cycle"
        }
    }
}

/// A binary min-heap of node positions: the ready set of `StageGraph`'s topological sort.
struct PositionHeap {
    private var items: [Int] = []

    mutating func push(_ x: Int) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= items[i] { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> Int? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return top }
        items[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < items.count, items[l] < items[smallest] { smallest = l }
            if r < items.count, items[r] < items[smallest] { smallest = r }
            if smallest == i { break }
            items.swapAt(i, smallest)
            i = smallest
        }
        return top
    }
}
