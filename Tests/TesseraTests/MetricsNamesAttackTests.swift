import Foundation
import Testing
@testable import TesseraRuntime

/// EMF lines name the picture they are about; a picture's name comes from an S3 key dropped into the
/// bucket, which may hold quotes, backslashes, control characters, markup and any Unicode.
struct MetricsNamesAttackTests {
    @Test func aHostilePictureNameLeavesEachLineOneJSONObject() throws {
        let hostile = "c\"o\\l/\u{0}\u{1f}\n\r\t\u{7f}\u{2028}\u{2029}</script>é𝄞\u{feff}/n\"}],\"_aws\":{}"
        let metrics = InvocationMetrics()
        metrics.picture = hostile
        metrics.add("PicturesReady", 1)
        metrics.add("BytesOut", 1234, .bytes, dimensions: [("rendition", "thumb")])
        metrics.add("ReductionPercent", -0.0, .percent, dimensions: [("rendition", "thumb")])
        let lines = metrics.lines(function: "picture-processor", requestId: "r\"1", timestamp: 1_765_000_000_000)
        #expect(lines.count == 2)
        for line in lines {
            #expect(!line.contains(0x0A) && !line.contains(0x0D))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            #expect(object["picture"] as? String == hostile)
            #expect(object["requestId"] as? String == "r\"1")
            let aws = try #require(object["_aws"] as? [String: Any])
            #expect(aws["Timestamp"] as? Int == 1_765_000_000_000 && aws["CloudWatchMetrics"] is [Any])
        }
    }
}
