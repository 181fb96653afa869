// libFuzzer entry: the cron expression parser (`schedule.cron` of a manifest) on arbitrary text.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCron(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? CronExpression(text)
    return 0
}
