import Testing
import TesseraEvents
@testable import TesseraPictures

/// Keys, versions and piece ranges: the pure rules of DESIGN.md "Pictures and keys" and "Notifications".
struct PictureKeyTests {
    @Test(arguments: [
        ("cam-1/photo.jpg", "cam-1", "photo"), ("a/b/c.JPEG", "a/b", "c"), ("photo.Jpg", "-", "photo"),
        ("no-extension", "-", "no-extension"), ("my photos/summer 2026+final.jpeg", "my photos", "summer 2026+final"),
        ("caf\u{E9}/\u{5199}\u{771F}.jpg", "caf\u{E9}", "\u{5199}\u{771F}"), (".jpg", "-", ".jpg"),
        ("dir/.jpeg", "dir", ".jpeg"), ("a//b.jpg", "a/", "b"), ("x.jpg.png", "-", "x.jpg.png"), ("dir/", "dir", "-"),
    ])
    func namesFromAnyObjectKey(_ key: String, _ collection: String, _ name: String) {
        let picture = PictureKey(objectKey: key)
        #expect(picture.collection == collection && picture.name == name, "\(key) → \(picture)")
        #expect(picture.key == key)
    }

    @Test func devicesAndTheAPINameTheKey() {
        #expect(PictureKey(collection: "bar", name: "drink").key == "bar/drink.jpg")
    }

    @Test func safeNames() {
        #expect(PictureKey.isSafe("cam-1.v2_x"))
        for bad in ["", ".hidden", "a b", "a/b", "caf\u{E9}", "~x", String(repeating: "a", count: 129)] {
            #expect(!PictureKey.isSafe(bad), "\(bad)")
        }
    }

    @Test func eventKeysAreDecodedOnceExactly() {
        #expect(S3EventKey.decode("my+photos/summer+2026.jpg") == "my photos/summer 2026.jpg")
        #expect(S3EventKey.decode("a%2Bb.jpg") == "a+b.jpg")
        #expect(S3EventKey.decode("100%2525.jpg") == "100%25.jpg")
        #expect(S3EventKey.decode("cam-1%2Fphoto.jpg") == "cam-1/photo.jpg")
        #expect(S3EventKey.decode("caf%C3%A9.jpg") == "caf\u{E9}.jpg")
        for malformed in ["100%.jpg", "%zz", "a%2", "%C3.jpg"] { #expect(S3EventKey.decode(malformed) == nil, "\(malformed)") }
    }

    @Test func missingPiecesAsRanges() {
        #expect(PieceRanges.describe([3, 4, 5, 9]) == ["3-5", "9"])
        #expect(PieceRanges.describe([9, 1, 2, 2]) == ["1-2", "9"])
        #expect(PieceRanges.describe([]) == [])
        #expect(PieceRanges.missing(total: 10, present: [0, 1, 2, 6, 7, 8, 10, 11]) == [3, 4, 5, 9])
        #expect(PieceRanges.missing(total: 0, present: [1]) == [])
    }

    @Test func versionsOrderBySequencerThenTime() {
        let early = PictureVersion(sequencer: "0055AED6DCD90281E5", eventTimeMilliseconds: 0)
        let late = PictureVersion(sequencer: "0055AED6DCD90281E6", eventTimeMilliseconds: 0)
        let longer = PictureVersion(sequencer: "10055AED6DCD90281E5", eventTimeMilliseconds: 0)
        #expect(early < late && late < longer)
        #expect(PictureVersion(sequencer: "0055aed6dcd90281e5", eventTimeMilliseconds: 5) == early)
        #expect(early.order.utf8.count == 40)
        #expect(PictureVersion(sequencer: nil, eventTimeMilliseconds: 1_000) < PictureVersion(sequencer: "", eventTimeMilliseconds: 2_000))
    }
}
