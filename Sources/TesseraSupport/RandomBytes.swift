import Glibc

/// Bytes from the kernel's random source, for keys.
public func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
    var filled = 0
    while fd >= 0, filled < count {
        let got = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, count - filled) }
        if got > 0 { filled += got } else if got == 0 || errno != EINTR { break }
    }
    if fd >= 0 { close(fd) }
    // Without randomness keys and ids would be guessable: better no process than a forgeable cursor.
    guard filled == count else { fatalError("cannot read \(count) random bytes from /dev/urandom") }
    return bytes
}
