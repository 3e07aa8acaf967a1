import TesseraAWS
import TesseraSupport

/// The pictures table (DESIGN.md "Pictures table"): one item a picture, keyed by collection and name.
///
/// Writes are ordered by `PictureVersion`: an item is written only over an older version, or over the
/// same version not yet notified (a redelivery after a crash between the write and the notification),
/// so a late or duplicated event never overwrites a newer picture and `picture.ready` goes out once.
public struct PicturesTable {
    public let table: String
    let db: DynamoDBClient

    public init(table: String, db: DynamoDBClient) {
        self.table = table
        self.db = db
    }

    /// Where this version stands against what the table holds.
    public enum Standing: Sendable, Equatable {
        /// Nothing newer is recorded: process it.
        case current
        /// This version was recorded and notified already, or a newer one was: nothing to do.
        case settled
    }

    /// The picture's item as it stands (a consistent read): what `standing` and `refusal` judge.
    public func item(_ picture: PictureKey) throws -> Item? {
        try db.getItem(table: table, key: key(picture), consistentRead: true)
    }

    public static func standing(of version: PictureVersion, given item: Item?) -> Standing {
        guard let item, let stored = item["version"]?.string else { return .current }
        if stored > version.order { return .settled }
        if stored == version.order { return item["notified"]?.boolValue == true ? .settled : .current }
        return .current
    }

    /// Who wrote an object version, and with which presigned upload (nil: not through one).
    public struct Writer: Sendable, Equatable {
        public let owner: String
        public let upload: String?
        public init(owner: String, upload: String?) {
            self.owner = owner
            self.upload = upload
        }
    }

    /// Why an object version may not become the picture.
    public enum Refusal: Sendable, Equatable {
        /// The picture is another owner's.
        case notOwner(holder: String)
        /// Its presigned upload was used already, or replaced by a newer one (a form writes one object once).
        case spentUpload
    }

    /// Claims the picture for `owner` and makes `upload` the one presigned upload it takes next (picture-api,
    /// before it hands out a form); false when another owner holds it. An unclaimed name is created as a
    /// claim without `version`, which listings leave out until the upload is processed, and which lapses
    /// at `until` (epoch seconds: the form's expiry and time to process it): a name claimed and never
    /// uploaded is anyone's again.
    public func claim(_ picture: PictureKey, owner: String, upload: String, until: Int,
                      now: Int = UTCTime.nowMilliseconds() / 1000) throws -> Bool {
        do {
            try db.updateItem(table: table, key: key(picture), update: .init(
                "SET #owner = :owner, #upload = :upload, #until = :until",
                names: ["#owner": "owner", "#upload": "pendingUpload", "#until": "claimedUntil", "#version": "version"],
                values: [":owner": .s(owner), ":upload": .s(upload), ":until": .number(until), ":now": .number(now)]),
                condition: "attribute_not_exists(#owner) OR #owner = :owner OR (attribute_not_exists(#version) AND #until < :now)")
            return true
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
            return false
        }
    }

    /// The owner holding the item: a processed picture's, or an unprocessed claim's until it lapses.
    static func holder(_ item: Item?, now: Int) -> String? {
        guard let item, let owner = item["owner"]?.string else { return nil }
        if item["version"] == nil, let until = item["claimedUntil"]?.int, until < now { return nil }
        return owner
    }

    /// Why `writer`'s object may not become the picture, judged from the item as read.
    public static func refusal(of writer: Writer, for version: PictureVersion, given item: Item?,
                               now: Int = UTCTime.nowMilliseconds() / 1000) -> Refusal? {
        // This very version recorded by this writer: an earlier delivery of the same event, stopped after its
        // write (which spent the upload), whose work this one finishes. Refusing it would delete the picture.
        if item?["version"]?.string == version.order, item?["owner"]?.string == writer.owner { return nil }
        if let holder = holder(item, now: now), holder != writer.owner { return .notOwner(holder: holder) }
        if let upload = writer.upload, item?["pendingUpload"]?.string != upload { return .spentUpload }
        return nil
    }

    /// What became of a write.
    public enum Recorded: Sendable, Equatable {
        case recorded
        /// A newer version (or the same one, notified) is there.
        case superseded
        case refused(Refusal)
    }

    /// Writes the item for this version of `writer`'s object, in one conditional write: only over an
    /// older version (or the same one not yet notified), only when the picture is the writer's (or no
    /// one's), and for a presigned upload only while that upload is the pending one, which the write
    /// then spends.
    public func record(_ picture: PictureKey, _ version: PictureVersion, _ attributes: Item, writer: Writer,
                       now: Int = UTCTime.nowMilliseconds() / 1000) throws -> Recorded {
        var item = attributes
        item["collection"] = .s(picture.collection)
        item["name"] = .s(picture.name)
        item["key"] = .s(picture.key)
        item["version"] = .s(version.order)
        item["notified"] = .bool(false)
        item["owner"] = .s(writer.owner)
        var names = ["#version": "version", "#notified": "notified", "#owner": "owner", "#until": "claimedUntil"]
        var values: Item = [":version": .s(version.order), ":no": .bool(false), ":owner": .s(writer.owner), ":now": .number(now)]
        // DynamoDB refuses redundant parentheses; AND binds tighter than OR.
        var newer = "attribute_not_exists(#version) OR #version < :version"
        if let upload = writer.upload {
            newer = "(\(newer)) AND #upload = :upload"
            names["#upload"] = "pendingUpload"
            values[":upload"] = .s(upload)
        }
        do {
            try db.putItem(table: table, item: item, condition: .init(
                "(attribute_not_exists(#owner) OR #owner = :owner OR (attribute_not_exists(#version) AND #until < :now)) "
                    + "AND (\(newer) OR (#version = :version AND #notified = :no))",
                names: names, values: values))
            return .recorded
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
            let stored = try db.getItem(table: table, key: key(picture), consistentRead: true)
            if let holder = Self.holder(stored, now: now), holder != writer.owner { return .refused(.notOwner(holder: holder)) }
            if let order = stored?["version"]?.string, order >= version.order { return .superseded }
            return .refused(.spentUpload)
        }
    }

    /// Notes that this version's notification went out.
    public func markNotified(_ picture: PictureKey, _ version: PictureVersion) throws {
        do {
            try db.updateItem(table: table, key: key(picture), update: .init(
                "SET #notified = :yes", names: ["#notified": "notified", "#version": "version"],
                values: [":yes": .bool(true), ":version": .s(version.order)]),
                condition: "#version = :version")
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
            // A newer version took the item meanwhile; its own notification is its business.
        }
    }

    func key(_ picture: PictureKey) -> Item {
        ["collection": .s(picture.collection), "name": .s(picture.name)]
    }
}
