import TesseraSupport

/// What a function answers API Gateway, encoded in the payload format the request came in.
public struct APIGatewayResponse: Sendable, Equatable {
    public var status: Int
    /// Headers in order; a name may repeat (REST APIs send those as `multiValueHeaders`).
    public var headers: [(name: String, value: String)]
    /// `Set-Cookie` values.
    public var cookies: [String]
    public var body: [UInt8]
    /// Text bodies travel as they are; binary ones (gzip, images) as base64, as API Gateway requires.
    public var isBinary: Bool

    public init(status: Int, headers: [(name: String, value: String)] = [], cookies: [String] = [],
                body: [UInt8] = [], isBinary: Bool = false) {
        self.status = status
        self.headers = headers
        self.cookies = cookies
        self.body = body
        self.isBinary = isBinary
    }

    /// The first value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.asciiLowercased == name.asciiLowercased }?.value
    }

    public static func == (a: APIGatewayResponse, b: APIGatewayResponse) -> Bool {
        a.status == b.status && a.headers.elementsEqual(b.headers, by: { $0 == $1 }) && a.cookies == b.cookies
            && a.body == b.body && a.isBinary == b.isBinary
    }

    /// The JSON document Lambda returns to API Gateway.
    public func encoded(for format: APIGatewayRequest.Format) -> [UInt8] {
        let bodyText = isBinary ? StrictBase64.encode(body) : String(decoding: body, as: UTF8.self)
        var fields = ["\"statusCode\":\(status)"]
        switch format {
        case .httpAPI:
            // HTTP API takes one value a header name: repeats are joined as HTTP allows.
            var merged: [(String, String)] = []
            for (name, value) in headers {
                if let i = merged.firstIndex(where: { $0.0.asciiLowercased == name.asciiLowercased }) {
                    merged[i].1 += ", " + value
                } else {
                    merged.append((name, value))
                }
            }
            fields.append("\"headers\":" + object(merged.map { ($0.0, jsonQuoted($0.1)) }))
            if !cookies.isEmpty { fields.append("\"cookies\":[" + cookies.map(jsonQuoted).joined(separator: ",") + "]") }
        case .restProxy:
            var grouped: [(String, [String])] = []
            for (name, value) in headers {
                if let i = grouped.firstIndex(where: { $0.0.asciiLowercased == name.asciiLowercased }) {
                    grouped[i].1.append(value)
                } else {
                    grouped.append((name, [value]))
                }
            }
            if !cookies.isEmpty { grouped.append(("Set-Cookie", cookies)) }
            fields.append("\"multiValueHeaders\":" + object(grouped.map {
                ($0.0, "[" + $0.1.map(jsonQuoted).joined(separator: ",") + "]")
            }))
        }
        fields.append("\"body\":" + jsonQuoted(bodyText))
        fields.append("\"isBase64Encoded\":\(isBinary)")
        return Array(("{" + fields.joined(separator: ",") + "}").utf8)
    }

    private func object(_ members: [(String, String)]) -> String {
        "{" + members.map { jsonQuoted($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}
