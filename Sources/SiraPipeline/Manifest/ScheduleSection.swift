import Foundation

/// `schedule:` (when the pipeline runs by itself) and `executor:` (where its stages run).
enum ScheduleSection {
    static func schedule(_ value: YAMLValue?) -> ScheduleSpec? {
        guard let value, !value.isNull, let m = value.map() else { return nil }
        var s = ScheduleSpec(cron: "", timezone: ManifestDefaults.timezone, catchup: ManifestDefaults.catchup, maxCatchup: ManifestDefaults.maxCatchup)
        if let cv = m.required("cron"), let cron = cv.string() {
            do {
                _ = try CronExpression(cron)
            } catch let e as CronError {
                cv.fail(e.message)
            } catch {
                cv.fail("\(error)")
            }
            s.cron = cron
        }
        if let tv = m.value("timezone"), let tz = tv.string() {
            if TimeZone(identifier: tz) == nil {
                tv.fail("unknown time zone '\(tz)' (use an IANA name such as Europe/Berlin or UTC)")
            }
            s.timezone = tz
        }
        s.catchup = m.value("catchup")?.oneOf(ScheduleSpec.Catchup.self) ?? s.catchup
        if let mv = m.value("max_catchup") {
            if s.catchup != .all {
                mv.fail("only applies to 'catchup: all', not '\(s.catchup.rawValue)'")
            } else {
                s.maxCatchup = mv.int(1 ... 10000) ?? s.maxCatchup
            }
        }
        m.finish(known: ["cron", "timezone", "catchup", "max_catchup"])
        return s
    }

    static let slurmKeys = ["partition", "account", "time", "memory", "cpus", "array_limit"]

    /// `executor: local`, `executor: slurm` or `executor: {slurm: {partition: gpu, ...}}`.
    static func executor(_ value: YAMLValue?) -> ExecutorSpec {
        guard let value else { return .local }
        let defaultSlurm = SlurmSpec.defaults
        if case .scalar = value.node {
            guard let name = value.string() else { return .local }
            switch name {
            case "local": return .local
            case "slurm": return .slurm(defaultSlurm)
            default:
                value.fail("expected local or slurm, got '\(name)'\(Suggest.hint(name, ["local", "slurm"]))")
                return .local
            }
        }
        guard let m = value.map() else { return .local }
        defer { m.finish(known: ["local", "slurm"]) }
        if let lv = m.value("local") {
            if !lv.isNull { lv.fail("local takes no settings") }
            return .local
        }
        guard let sv = m.value("slurm") else {
            value.fail("expected local or slurm")
            return .local
        }
        if sv.isNull { return .slurm(defaultSlurm) }
        guard let s = sv.map() else { return .local }
        var spec = defaultSlurm
        spec.partition = checked(s.value("partition"), slurmNameProblem)
        spec.account = checked(s.value("account"), slurmNameProblem)
        spec.time = checked(s.value("time"), slurmTimeProblem)
        spec.memory = checked(s.value("memory"), slurmMemoryProblem)
        spec.cpus = s.value("cpus")?.int(1 ... 1024) ?? spec.cpus
        spec.arrayLimit = s.value("array_limit")?.int(1 ... 100_000)
        s.finish(known: slurmKeys)
        return .slurm(spec)
    }

    private static func checked(_ value: YAMLValue?, _ problem: (String) -> String?) -> String? {
        guard let value, let text = value.string() else { return nil }
        if let p = problem(text) {
            value.fail(p)
            return nil
        }
        return text
    }

    /// Partitions and accounts: Slurm names (a comma-separated list for partitions).
    static func slurmNameProblem(_ text: String) -> String? {
        let ok = text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_-.,".unicodeScalars.contains($0)) }
        return ok ? nil : "'\(text)' is not a Slurm name (letters, digits, '_', '-', '.'; ',' between partitions)"
    }

    /// Slurm time limits: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`, `UNLIMITED`.
    static func slurmTimeProblem(_ text: String) -> String? {
        if ["unlimited", "infinite"].contains(text.lowercased()) { return nil }
        func numbers(_ part: Substring, max: Int) -> Bool {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            return (1 ... max).contains(fields.count) && fields.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
        }
        let dash = text.split(separator: "-", omittingEmptySubsequences: false)
        let ok = dash.count == 1 ? numbers(dash[0], max: 3) : dash.count == 2 && numbers(dash[0], max: 1) && numbers(dash[1], max: 3)
        return ok ? nil : "'\(text)' is not a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM:SS or UNLIMITED)"
    }

    /// Slurm memory sizes: a whole number with an optional K, M, G or T (megabytes without).
    static func slurmMemoryProblem(_ text: String) -> String? {
        var digits = Substring(text)
        if let last = digits.last, "KMGTkmgt".contains(last) { digits = digits.dropLast() }
        let ok = !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
        return ok ? nil : "'\(text)' is not a Slurm memory size (a whole number with an optional K, M, G or T: 4G, 500M)"
    }
}
