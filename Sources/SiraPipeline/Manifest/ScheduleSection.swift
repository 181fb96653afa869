import Foundation

/// `schedule:` (when the pipeline runs by itself) and `executor:` (where its stages run).
enum ScheduleSection {
    static let cronAliases = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]

    static func schedule(_ value: YAMLValue?) -> ScheduleSpec? {
        guard let value, !value.isNull, let m = value.map() else { return nil }
        var s = ScheduleSpec(cron: "", timezone: ManifestDefaults.timezone, catchup: ManifestDefaults.catchup, maxCatchup: ManifestDefaults.maxCatchup)
        if let cv = m.required("cron"), let cron = cv.string() {
            if let problem = cronProblem(cron) { cv.fail(problem) }
            s.cron = cron
        }
        if let tv = m.value("timezone"), let tz = tv.string() {
            if TimeZone(identifier: tz) == nil {
                tv.fail("unknown time zone '\(tz)' (use an IANA name such as Europe/Berlin or UTC)")
            }
            s.timezone = tz
        }
        s.catchup = m.value("catchup")?.oneOf(ScheduleSpec.Catchup.self) ?? s.catchup
        s.maxCatchup = m.value("max_catchup")?.int(1 ... 10000) ?? s.maxCatchup
        m.finish(known: ["cron", "timezone", "catchup", "max_catchup"])
        return s
    }

    /// The shape of a cron expression: an alias or five fields of digits, names, `*`, `,`, `-`, `/`.
    /// The full meaning (ranges per field, next fire times) is the schedule module's.
    static func cronProblem(_ cron: String) -> String? {
        let text = cron.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("@") {
            return cronAliases.contains(text) ? nil : "unknown cron alias '\(text)'\(Suggest.hint(text, cronAliases)) (one of \(cronAliases.joined(separator: ", ")))"
        }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 5 else {
            return "a cron expression has 5 fields (minute hour day-of-month month day-of-week), got \(fields.count)"
        }
        let allowed = CharacterSet(charactersIn: "0123456789*,-/?").union(.letters)
        for (i, f) in fields.enumerated() where f.unicodeScalars.contains(where: { !allowed.contains($0) }) {
            let names = ["minute", "hour", "day-of-month", "month", "day-of-week"]
            return "cron field \(i + 1) (\(names[i])) '\(f)' has characters other than digits, names, '*', ',', '-', '/'"
        }
        return nil
    }

    static let slurmKeys = ["partition", "account", "time", "memory", "cpus", "array_limit"]

    /// `executor: local`, `executor: slurm` or `executor: {slurm: {partition: gpu, ...}}`.
    static func executor(_ value: YAMLValue?) -> ExecutorSpec {
        guard let value else { return .local }
        let defaultSlurm = SlurmSpec(partition: nil, account: nil, time: nil, memory: nil, cpus: ManifestDefaults.slurmCPUs, arrayLimit: nil)
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
        spec.partition = s.value("partition")?.string()
        spec.account = s.value("account")?.string()
        spec.time = s.value("time")?.string()
        spec.memory = s.value("memory")?.string()
        spec.cpus = s.value("cpus")?.int(1 ... 1024) ?? spec.cpus
        spec.arrayLimit = s.value("array_limit")?.int(1 ... 100_000)
        s.finish(known: slurmKeys)
        return .slurm(spec)
    }
}
