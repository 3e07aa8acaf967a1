import Foundation
import Testing
import TesseraEvents

/// API Gateway proxy events (HTTP API 2.0, REST 1.0) in and responses out, strictly.
struct APIGatewayEventTests {
    static let httpAPI = #"""
    {"version":"2.0","routeKey":"GET /pictures","rawPath":"/prod/pictures/bar/a b%2","rawQueryString":"collection=a+b&tag=x&tag=y%26z&empty",
     "cookies":["session=1","theme=dark"],"headers":{"Accept-Encoding":"gzip, br","x-multi":"a,b"},
     "queryStringParameters":{"collection":"a b","tag":"x,y&z"},"pathParameters":{"collection":"bar","name":"a b"},
     "requestContext":{"http":{"method":"get","path":"/prod/pictures","protocol":"HTTP/1.1","sourceIp":"203.0.113.9"},
       "requestId":"req-1","stage":"prod"},
     "body":"eyJhIjoxfQ==","isBase64Encoded":true}
    """#

    static let restProxy = #"""
    {"resource":"/pictures","path":"/pictures/a%20b%2Fc","httpMethod":"POST",
     "headers":{"Cookie":"a=1; b=2","Content-Type":"application/json"},
     "multiValueHeaders":{"Cookie":["a=1; b=2"],"Content-Type":["application/json"],"X-Forwarded-For":["1.1.1.1","2.2.2.2"]},
     "queryStringParameters":{"tag":"y"},"multiValueQueryStringParameters":{"tag":["x","y"]},
     "pathParameters":null,"stageVariables":null,
     "requestContext":{"requestId":"req-2","identity":{"sourceIp":"198.51.100.7"}},
     "body":"{\"a\":1}","isBase64Encoded":false}
    """#

    @Test func anHTTPAPIEventIsReadWhole() throws {
        let request = try APIGatewayRequest.parse(Array(Self.httpAPI.utf8))
        #expect(request.format == .httpAPI)
        #expect(request.method == "GET")
        // HTTP API delivers the path decoded: taken as it is (a literal `%2` stays), less the named stage.
        #expect(request.path == "/pictures/bar/a b%2")
        #expect(request.query == ["collection": ["a b"], "tag": ["x", "y&z"], "empty": [""]])
        #expect(request.header("accept-encoding") == "gzip, br")
        #expect(request.header("X-Multi") == "a,b")
        #expect(request.cookies == ["session=1", "theme=dark"])
        #expect(request.pathParameters == ["collection": "bar", "name": "a b"])
        #expect(request.body == Array(#"{"a":1}"#.utf8))
        #expect(request.requestId == "req-1")
        #expect(request.sourceIP == "203.0.113.9")
    }

    @Test func aRESTProxyEventIsReadWhole() throws {
        let request = try APIGatewayRequest.parse(Array(Self.restProxy.utf8))
        #expect(request.format == .restProxy)
        #expect(request.method == "POST")
        #expect(request.path == "/pictures/a b/c")  // REST APIs deliver it encoded: decoded once here
        #expect(request.headers["x-forwarded-for"] == ["1.1.1.1", "2.2.2.2"])
        #expect(request.query == ["tag": ["x", "y"]])
        #expect(request.cookies == ["a=1", "b=2"])
        #expect(request.body == Array(#"{"a":1}"#.utf8))
        #expect(request.sourceIP == "198.51.100.7")
    }

    static let malformed: [(String, String)] = [
        (#"[]"#, "event must be a JSON object, got array"),
        (#"{"version":"1.0","rawPath":"/"}"#, "field `version` must be \"2.0\" (HTTP API) or absent (REST API 1.0), got \"1.0\""),
        (#"{"rawPath":"/"}"#, "field `httpMethod` is missing"),
        (#"{"version":"2.0","rawPath":"/"}"#, "field `requestContext` is missing"),
        (#"{"version":"2.0","rawPath":"/","requestContext":{"http":{}}}"#, "field `requestContext.http.method` is missing"),
        (#"{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":7}}}"#,
         "field `requestContext.http.method` must be a string, got integer"),
        (#"{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"GE T"}}}"#,
         "field `requestContext.http.method` must be an HTTP method (letters only), got \"GE T\""),
        (#"{"version":"2.0","rawPath":"pictures","requestContext":{"http":{"method":"GET"}}}"#,
         "field `rawPath` must start with /, got \"pictures\""),
        (#"{"version":"2.0","rawPath":"/","headers":{"a":1},"requestContext":{"http":{"method":"GET"}}}"#,
         "field `headers.a` must be a string, got integer"),
        (#"{"version":"2.0","rawPath":"/","cookies":"a=1","requestContext":{"http":{"method":"GET"}}}"#,
         "field `cookies` must be an array of strings, got string"),
        (#"{"version":"2.0","rawPath":"/","cookies":["a",2],"requestContext":{"http":{"method":"GET"}}}"#,
         "field `cookies[1]` must be a string, got integer"),
        (#"{"version":"2.0","rawPath":"/","body":"a","isBase64Encoded":"yes","requestContext":{"http":{"method":"GET"}}}"#,
         "field `isBase64Encoded` must be a boolean, got string"),
        (#"{"httpMethod":"GET","path":"/","multiValueHeaders":{"a":"b"}}"#,
         "field `multiValueHeaders.a` must be an array of strings, got string"),
        (#"{"httpMethod":"GET","path":"/","multiValueQueryStringParameters":{"a":[1]}}"#,
         "field `multiValueQueryStringParameters.a[0]` must be a string, got integer"),
        (#"{"httpMethod":"GET","path":"/","body":7}"#, "field `body` must be a string, got integer"),
        (#"{"httpMethod":"GET","path":"/","headers":{"a":"1","a":"2"}}"#,
         "field `headers.a` appears more than once; events with duplicate keys are refused"),
    ]

    @Test(arguments: malformed)
    func malformedEventsAreRefusedByField(_ event: String, _ message: String) {
        #expect(throws: (any Error).self) { try APIGatewayRequest.parse(Array(event.utf8)) }
        do {
            _ = try APIGatewayRequest.parse(Array(event.utf8))
        } catch let error as EventError {
            #expect(error.description == message)
        } catch {
            Issue.record("not an EventError: \(error)")
        }
    }

    @Test(arguments: ["not base64!", "QQ", "QR==", "QQ==\n", "Q Q=="])
    func aBase64BodyThatIsNotBase64IsRefused(_ body: String) throws {
        let event = #"{"version":"2.0","rawPath":"/","body":"\#(body.replacingOccurrences(of: "\n", with: "\\n"))","isBase64Encoded":true,"requestContext":{"http":{"method":"POST"}}}"#
        do {
            _ = try APIGatewayRequest.parse(Array(event.utf8))
            Issue.record("accepted \(body)")
        } catch let error as EventError {
            #expect(error.description.hasPrefix("field `body` is marked isBase64Encoded but is not base64"))
        }
    }

    @Test func responsesGoBackInTheRequestsFormat() throws {
        let response = APIGatewayResponse(status: 201, headers: [("Content-Type", "application/json"), ("Vary", "Origin"),
                                                                 ("vary", "Accept-Encoding")],
                                          cookies: ["a=1; Secure", "b=\"2\""], body: Array(#"{"ok":true}"#.utf8))
        let v2 = try JSONSerialization.jsonObject(with: Data(response.encoded(for: .httpAPI))) as! NSDictionary
        #expect(v2 == ["statusCode": 201, "headers": ["Content-Type": "application/json", "Vary": "Origin, Accept-Encoding"],
                       "cookies": ["a=1; Secure", "b=\"2\""], "body": #"{"ok":true}"#, "isBase64Encoded": false] as NSDictionary)
        let v1 = try JSONSerialization.jsonObject(with: Data(response.encoded(for: .restProxy))) as! NSDictionary
        #expect(v1 == ["statusCode": 201, "multiValueHeaders": ["Content-Type": ["application/json"],
                                                                 "Vary": ["Origin", "Accept-Encoding"],
                                                                 "Set-Cookie": ["a=1; Secure", "b=\"2\""]],
                       "body": #"{"ok":true}"#, "isBase64Encoded": false] as NSDictionary)
        let binary = APIGatewayResponse(status: 200, body: [0x1F, 0x8B, 0, 0xFF], isBinary: true)
        let encoded = try JSONSerialization.jsonObject(with: Data(binary.encoded(for: .httpAPI))) as! NSDictionary
        #expect(encoded["body"] as? String == "H4sA/w==" && encoded["isBase64Encoded"] as? Bool == true)
    }
}
