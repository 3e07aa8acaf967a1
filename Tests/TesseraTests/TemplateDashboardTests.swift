import Foundation
import Testing
import TesseraLocal

/// template.yaml's dashboard reads what the functions write: its body is valid JSON once CloudFormation
/// has substituted it, and every Tessera metric it shows is one a function emits (ObservabilityTests
/// pin those lines).
struct TemplateDashboardTests {
    @Test func theDashboardIsValidAndShowsThePipeline() throws {
        let template = try LocalTemplate.load(LocalTemplateTests.root.appendingPathComponent("template.yaml").path)
        let dashboard = try #require(template.resource("Dashboard")).properties
        guard case let .function("Fn::Sub", .list(parts))? = dashboard["DashboardBody"], let body = parts.first?.string else {
            Issue.record("DashboardBody is not a !Sub of a text and its variables")
            return
        }
        // As CloudFormation substitutes it: every ${...} becomes a value.
        let substituted = body.replacingOccurrences(of: #"\$\{[^}]+\}"#, with: "x", options: .regularExpression)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(substituted.utf8)) as? [String: Any])
        let widgets = try #require(json["widgets"] as? [[String: Any]])
        #expect(widgets.count >= 7)
        let text = widgets.map { "\($0)" }.joined()
        let emitted = ["PicturesReady", "PicturesFailed", "PiecesStored", "ReassemblyMilliseconds", "RenderMilliseconds", "ColdStart",
                       "EndToReadyMilliseconds", "UploadToReadyMilliseconds"]
        for metric in emitted { #expect(text.contains(metric), "\(metric) is not on the dashboard") }
        for metric in ["ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible", "Errors", "Throttles", "Duration"] {
            #expect(text.contains(metric), "\(metric) is not on the dashboard")
        }
        let alarm = try #require(template.resource("PicturesFailedAlarm")).properties
        #expect(alarm["Namespace"]?.string == "Tessera" && alarm["MetricName"]?.string == "PicturesFailed")
    }
}
