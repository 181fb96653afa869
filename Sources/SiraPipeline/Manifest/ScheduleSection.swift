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
