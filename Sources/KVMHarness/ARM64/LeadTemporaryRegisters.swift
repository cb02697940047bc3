// TEMPORARY (lead): replaced by the registers namespace of ARM64Registers.swift when it lands.
package enum ARM64Register {
    static let coreBase: UInt64 = 0x6030_0000_0010_0000
    static let sysregBase: UInt64 = 0x6030_0000_0013_0000
    static func core(offset: Int) -> UInt64 { coreBase | UInt64(offset / 4) }
    static func sysreg(_ op0: UInt64, _ op1: UInt64, _ crn: UInt64, _ crm: UInt64, _ op2: UInt64) -> UInt64 {
        sysregBase | op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2
    }
    package static func x(_ index: Int) -> UInt64 { core(offset: index * 8) }
    package static let sp = core(offset: 248)
    package static let pc = core(offset: 256)
    package static let pstate = core(offset: 264)
    package static let spEL1 = core(offset: 272)
    package static let sctlr = sysreg(3, 0, 1, 0, 0)
    package static let cpacr = sysreg(3, 0, 1, 0, 2)
    package static let ttbr0 = sysreg(3, 0, 2, 0, 0)
    package static let tcr = sysreg(3, 0, 2, 0, 2)
    package static let mair = sysreg(3, 0, 10, 2, 0)
    package static let vbar = sysreg(3, 0, 12, 0, 0)
    package static func name(_ id: UInt64) -> String { hex(id) }
    package static func translationControl(virtualAddressBits: Int, physicalAddressBits: Int) -> UInt64 {
        let ips: UInt64
        switch physicalAddressBits {
        case ...32: ips = 0
        case ...36: ips = 1
        case ...40: ips = 2
        case ...42: ips = 3
        case ...44: ips = 4
        case ...48: ips = 5
        default: ips = 6
        }
        return UInt64(64 - virtualAddressBits) | 1 << 8 | 1 << 10 | 3 << 12 | 1 << 23 | 2 << 30 | ips << 32
    }
    package static let systemControlMMUOn: UInt64 = 0x30D0_0800 | 1 | 1 << 2 | 1 << 12
    package static let pstateEL1tMasked: UInt64 = 0x3c4
    package static let cpacrFPEnabled: UInt64 = 3 << 20
}
package enum ExceptionSyndrome {
    package static func vectorEntryName(_ entry: Int) -> String { "vector entry \(entry)" }
}
extension ExceptionSyndrome: CustomStringConvertible {
    init(_ esr: UInt64) { fatalError() }
    package var description: String { "" }
}
