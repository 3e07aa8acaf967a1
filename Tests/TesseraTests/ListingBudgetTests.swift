import Testing
@testable import TesseraPictures

/// A listing request reads at most `maxItemsRead` items, however its page is filled past hidden ones.
struct ListingBudgetTests {
    @Test func aPageOfAHundredTakesThreeQueriesAndASmallPageTen() {
        #expect(PictureAPI.queryBudget(limit: 100) == 3)
        #expect(PictureAPI.queryBudget(limit: 24) == 10)
        #expect(PictureAPI.queryBudget(limit: 1) == 10)
        #expect(PictureAPI.queryBudget(limit: 100, maxQueries: 3) == 3)
        #expect(PictureAPI.queryBudget(limit: 1_000) == 1, "one query at least")
        for limit in 1...100 { #expect(PictureAPI.queryBudget(limit: limit) * limit <= max(limit, PictureAPI.maxItemsRead)) }
    }
}
