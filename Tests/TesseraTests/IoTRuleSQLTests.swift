import Testing
@testable import TesseraLocal

/// The local stack runs the template's IoT rule SQL itself: the subset it runs gives the event AWS's
/// rule gives, and anything else is refused naming the problem, never guessed.
struct IoTRuleSQLTests {
    static let pieceRule = "SELECT topic(3) AS thing, machine_id, label, count, data, sha256, content_type "
        + "FROM 'tessera/pieces/+'"

    func event(_ sql: String, _ topic: String, _ payload: String) throws -> String {
        String(decoding: try IoTRuleSQL(sql).event(topic: topic, payload: Array(payload.utf8)), as: UTF8.self)
    }

    @Test func thePieceRuleAddsTheThingFromTheTopicAndSelectsOnlyItsFields() throws {
        let rule = try IoTRuleSQL(Self.pieceRule)
        #expect(rule.topicFilter == "tessera/pieces/+")
        #expect(rule.items == [.topic(level: 3, name: "thing"), .field(key: "machine_id", name: "machine_id"),
                               .field(key: "label", name: "label"), .field(key: "count", name: "count"),
                               .field(key: "data", name: "data"), .field(key: "sha256", name: "sha256"),
                               .field(key: "content_type", name: "content_type")])
        // Absent fields (sha256, content_type on a piece) are left out, as AWS leaves Undefined out.
        #expect(try event(Self.pieceRule, "tessera/pieces/cam-1", #"{"machine_id":"cam-1","label":"p","count":2,"data":"AAEC"}"#)
                == #"{"thing":"cam-1","machine_id":"cam-1","label":"p","count":2,"data":"AAEC"}"#)
        // A device's own `thing` (or anything else it adds) is never selected: the topic's is the only one.
        #expect(try event(Self.pieceRule, "tessera/pieces/cam-1",
                          #"{"thing":"cam-2","machine_id":"cam-2","label":"p","count":1,"data":"END","sha256":null,"x":[1]}"#)
                == #"{"thing":"cam-1","machine_id":"cam-2","label":"p","count":1,"data":"END","sha256":null}"#)
        // Values keep their JSON types and text (escapes written out as jsonQuoted writes them).
        #expect(try event(Self.pieceRule, "tessera/pieces/a", #"{"label":"caf\u00e9 \"q\"","count":3.0,"data":true,"machine_id":{"b":1,"a":[-2.5]}}"#)
                == #"{"thing":"a","machine_id":{"a":[-2.5],"b":1},"label":"café \"q\"","count":3,"data":true}"#)
    }

    @Test func theRestOfTheSubset() throws {
        // `*` alone: the payload's bytes as they are, JSON or not.
        #expect(try event("SELECT * FROM 'a/b'", "a/b", "not json {") == "not json {")
        #expect(try event("select color as rgb, topic() as t, topic(2) as second, topic(5) as missing from 'a/#'",
                          "a/b/c", #"{"color":"red","temperature":50}"#)
                == #"{"rgb":"red","t":"a/b/c","second":"b"}"#)
        #expect(try event("SELECT topic(1) AS first FROM '+/x'", "dev/x", "binary \u{1}") == #"{"first":"dev"}"#)
        let rule = try IoTRuleSQL(Self.pieceRule)
        #expect(rule.matches(topic: "tessera/pieces/cam-1"))
        #expect(rule.matches(topic: "tessera/pieces/"), "an empty level is a level; the policy never allows it")
        #expect(!rule.matches(topic: "tessera/pieces"))
        #expect(!rule.matches(topic: "tessera/pieces/cam-1/x"))
        #expect(!rule.matches(topic: "tessera/other/cam-1"))
    }

    @Test func messagesARuleCannotSelectFromAreNotDelivered() throws {
        let rule = try IoTRuleSQL(Self.pieceRule)
        for (payload, problem) in [
            ("not json", "the message on tessera/pieces/cam-1 is not a JSON object the rule can select from: "),
            ("[1,2]", "the message on tessera/pieces/cam-1 is a JSON array, not an object"),
            (#"{"machine_id":"cam-1","machine_id":"cam-2"}"#,
             "the message on tessera/pieces/cam-1 is not a JSON object the rule can select from: "),
        ] {
            let error = #expect(throws: IoTRuleError.self) {
                try rule.event(topic: "tessera/pieces/cam-1", payload: Array(payload.utf8))
            }
            #expect(error?.aboutMessage == true)
            #expect(error?.description.hasPrefix("the IoT rule `\(Self.pieceRule)` did not run: \(problem)") == true,
                    "\(error?.description ?? "")")
        }
    }

    @Test(arguments: [
        ("SELECT *, topic(3) AS thing FROM 'tessera/pieces/+'",
         "'*' with other items: AWS does not document which value wins when the message itself has a key of another "
            + "item's name; select the message's fields by name instead"),
        ("SELECT topic(3) AS thing, * FROM 'tessera/pieces/+'",
         "'*' with other items: AWS does not document which value wins when the message itself has a key of another "
            + "item's name; select the message's fields by name instead"),
        ("SELECT * FROM 'a/+' WHERE temperature > 50", "WHERE clauses are not run locally"),
        ("SELECT upper(label) AS l FROM 'a'", "the function upper() is not run locally (only topic(N))"),
        ("SELECT topic(3) FROM 'a/b/+'", "topic(3) needs a name: topic(N) AS name"),
        ("SELECT topic(0) AS t FROM 'a'", "topic(0): levels count from 1"),
        ("SELECT topic(1, 2) AS t FROM 'a'", "topic() takes one level number, as in topic(3)"),
        ("SELECT state.reported AS r FROM 'a'",
         "'.' at character 13 is not run locally (only names, '*', topic(N), AS and FROM '<topic filter>')"),
        ("SELECT \"label\" FROM 'a'",
         "'\"' at character 8 is not run locally (only names, '*', topic(N), AS and FROM '<topic filter>')"),
        ("SELECT a AS b, c AS b FROM 'x'", "two items named b"),
        ("SELECT a, topic(1) AS a FROM 'x'", "two items named a"),
        ("SELECT a FROM 'x/#/y'", "'x/#/y' is not an MQTT topic filter ('+' a whole level, '#' only as the last level)"),
        ("SELECT a FROM 'x/a+'", "'x/a+' is not an MQTT topic filter ('+' a whole level, '#' only as the last level)"),
        ("SELECT a FROM x", "FROM must name a topic filter in single quotes"),
        ("SELECT a", "it has no FROM"),
        ("SELECT FROM 'x'", "an item must follow SELECT, not FROM"),
        ("SELECT a, FROM 'x'", "an item must follow ',', not FROM"),
        ("SELECT a b FROM 'x'", "b after an item, where ',' or FROM should be"),
        ("SELECT a AS FROM 'x'", "a name must follow AS"),
        ("SELECT a FROM 'x' 'y'", "'y' after the FROM clause"),
        ("SELECT a FROM 'it''s'", "quotes doubled inside a string are not run locally"),
        ("SELECT a FROM 'x", "a quote opened at character 15 is not closed"),
        ("UPDATE x", "it must start with SELECT"),
    ])
    func rulesOutsideTheSubsetAreRefusedNamingTheProblem(_ sql: String, _ problem: String) {
        let error = #expect(throws: IoTRuleError.self) { try IoTRuleSQL(sql) }
        #expect(error?.description == "the IoT rule `\(sql)` cannot run locally: \(problem)")
    }
}
