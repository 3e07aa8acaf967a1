import Testing
@testable import TesseraAWS
import TesseraHTTP
import TesseraSupport

/// The signature examples of the Amazon S3 API reference ("Examples: Signature Calculations").
struct SigV4S3ExampleTests {
    let signer = SigV4Signer(
        credentials: Credentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE",
                                 secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3")
    let may24 = AmzDate(epochSeconds: 1_369_353_600)  // 20130524T000000Z

    @Test func getObjectWithRange() {
        var request = SignableRequest(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt",
                                      headers: HTTPHeaders([("Range", "bytes=0-9")]))
        let result = signer.signHeaders(&request, payload: .empty, date: may24, addContentSHA256Header: true)
        #expect(result.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(request.headers["authorization"]!.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"))
    }

    @Test func putObjectWithReservedCharacterInKey() {
        // The key "test$file.text" goes on the wire encoded once, and S3 signs that path as it is.
        let path = "/" + PercentEncoding.encode("test$file.text", keepSlash: true)
        #expect(path == "/test%24file.text")
        var request = SignableRequest(method: "PUT", host: "examplebucket.s3.amazonaws.com", path: path,
                                      headers: HTTPHeaders([("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                                                            ("x-amz-storage-class", "REDUCED_REDUNDANCY")]))
        let body = Array("Welcome to Amazon S3.".utf8)
        let result = signer.signHeaders(&request, payload: .of(body), date: may24, addContentSHA256Header: true)
        #expect(request.headers["x-amz-content-sha256"] == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        #expect(result.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func getBucketLifecycle() {
        var request = SignableRequest(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/",
                                      query: [("lifecycle", "")])
        let result = signer.signHeaders(&request, payload: .empty, date: may24, addContentSHA256Header: true)
        #expect(result.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test func listObjects() {
        var request = SignableRequest(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/",
                                      query: [("prefix", "J"), ("max-keys", "2")])
        let result = signer.signHeaders(&request, payload: .empty, date: may24, addContentSHA256Header: true)
        #expect(result.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func presignedGetObject() throws {
        var request = SignableRequest(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt")
        let result = try signer.presign(&request, expires: 86_400, payload: .unsigned,
                                        date: may24)
        #expect(result.signature == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        #expect(request.url.hasPrefix("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"))
        #expect(request.url.hasSuffix("&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"))
    }

    @Test func s3PathIsNeverNormalized() {
        #expect(signer.canonicalPath("/bucket//a/./b/../c") == "/bucket//a/./b/../c")
        let standard = SigV4Signer(credentials: signer.credentials, region: "us-east-1", service: "sqs")
        #expect(standard.canonicalPath("/a//b/./c/../d%20e") == "/a/b/d%2520e")
    }

    @Test(arguments: [0, -1, 604_801, Int.max])
    func presignRejectsExpiryOutsideOneSecondToSevenDays(_ expires: Int) {
        var request = SignableRequest(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/k")
        #expect(throws: SigV4Error.invalidExpiry(expires)) { try signer.presign(&request, expires: expires) }
    }

    @Test(arguments: [1, 604_800])
    func presignAcceptsTheBounds(_ expires: Int) throws {
        var request = SignableRequest(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/k")
        try signer.presign(&request, expires: expires)
        #expect(request.query.contains { $0.name == "X-Amz-Expires" && $0.value == String(expires) })
    }

    @Test func userAgentAndTraceHeaderAreNotSigned() {
        var request = SignableRequest(method: "GET", host: "h", path: "/",
                                      headers: HTTPHeaders([("User-Agent", "x"), ("X-Amzn-Trace-Id", "Root=1")]))
        signer.signHeaders(&request, payload: .empty, date: may24)
        #expect(request.headers["authorization"]!.contains("SignedHeaders=host;x-amz-date,"))
    }
}

struct HashVectorTests {
    @Test func sha256Vectors() {
        #expect(hexString(SHA256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hexString(SHA256.hash("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(hexString(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test(arguments: [1, 3, 63, 64, 65, 127, 1000])
    func streamingEqualsOneShot(_ chunk: Int) {
        let data = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var hasher = SHA256()
        var start = 0
        while start < data.count {
            hasher.update(data[start..<min(start + chunk, data.count)])
            start += chunk
        }
        #expect(hasher.finalize() == SHA256.hash(data))
    }

    @Test func hmacRFC4231() {
        #expect(hexString(hmacSHA256(key: [UInt8](repeating: 0x0b, count: 20), message: "Hi There".utf8))
            == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(hexString(hmacSHA256(key: Array("Jefe".utf8), message: "what do ya want for nothing?".utf8))
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(hexString(hmacSHA256(key: [UInt8](repeating: 0xaa, count: 131),
                                     message: "Test Using Larger Than Block-Size Key - Hash Key First".utf8))
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func percentEncoding() {
        #expect(PercentEncoding.encode("a b/c+d=é", keepSlash: true) == "a%20b/c%2Bd%3D%C3%A9")
        #expect(PercentEncoding.decode("a%20b+c%zz%4") == "a b+c%zz%4")
        #expect(PercentEncoding.decode("a+b%2B", plusAsSpace: true) == "a b+")
        #expect(PercentEncoding.formEncode([("Message", "hi there*"), ("a~", "b")]) == "Message=hi+there%2A&a~=b")
    }
}
