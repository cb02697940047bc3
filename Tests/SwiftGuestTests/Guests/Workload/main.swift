// The Workload guest: runs Workload.swift's runWorkload() and reports its values, one SYNC each, and its summary.
let result = runWorkload()
for (index, value) in result.values.enumerated() {
    guestSync(UInt64(index + 1), value)
}
guestPrint("\(result.summary)")
guestDone()
