import Glibc
import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraRuntime
import TesseraSupport

/// A pthread mutex with a condition variable: the one synchronisation primitive the local tools need.
final class ConditionLock: @unchecked Sendable {
    // pthread objects must not move: allocated, not stored inline.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (the lock held) until `ready` is true or `deadline` (monotonic nanoseconds) passes.
    func wait(until deadline: UInt64? = nil, _ ready: () -> Bool) -> Bool {
        while !ready() {
            guard let deadline else {
                pthread_cond_wait(condition, mutex)
                continue
            }
            guard monotonicNanoseconds() < deadline else { return false }
            var spec = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            pthread_cond_timedwait(condition, mutex, &spec)
        }
        return true
    }

    func broadcast() { pthread_cond_broadcast(condition) }
}

/// Monotonic clock in nanoseconds.
public func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// The deadline `seconds` from now, on the monotonic clock.
func deadline(after seconds: Double) -> UInt64 {
    monotonicNanoseconds() + UInt64(max(0, seconds) * 1e9)
}

/// Runs `body` on a new detached thread.
func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, context)
    precondition(status == 0, "pthread_create failed: \(status)")
    pthread_detach(thread)
}

/// A whole regular file's bytes; nil when it cannot be read, is not a regular file (a directory, a
/// FIFO, a device) or is larger than `maxBytes`.
public func readFile(_ path: String, maxBytes: Int = 64 << 20) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size <= maxBytes else { return nil }
    var bytes = [UInt8]()
    bytes.reserveCapacity(Int(info.st_size))
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while bytes.count <= maxBytes {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { return nil }
        if n == 0 { return bytes }
        bytes += chunk[0..<n]
    }
    return nil
}

/// Writes the bytes to a file, replacing it; false on failure.
public func writeFile(_ path: String, _ bytes: [UInt8]) -> Bool {
    guard let file = fopen(path, "wb") else { return false }
    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    return fclose(file) == 0 && written == bytes.count
}

/// Writes a line to standard error.
public func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
}

/// A port on 127.0.0.1 nothing listens on now, from the kernel's ephemeral range, for a process that
/// takes its port as an argument (moto, mosquitto). Another process may take it before that one binds.
public func freeLoopbackPort(excluding: Int? = nil) throws -> Int {
    for _ in 0..<10 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError.socket("socket: \(errnoText())") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let found = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard found else { throw ServerError.socket("cannot find a free port: \(errnoText())") }
        let port = Int(UInt16(bigEndian: address.sin_port))
        if port != excluding { return port }
    }
    throw ServerError.socket("cannot find a free port")
}
