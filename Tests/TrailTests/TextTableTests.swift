import Testing
@testable import Trail

@Suite struct TextTableTests {
    @Test func alignsTextLeftAndNumbersRightWithoutTrailingSpaces() {
        var table = TextTable([.init(title: "NAME", alignment: .left), .init(title: "N", alignment: .right),
                               .init(title: "NOTE", alignment: .left)])
        table.append(["spring-sale", "1234", ""])
        table.append(["x", "5", "long note"])
        #expect(table.rendered() == """
            NAME            N  NOTE
            spring-sale  1234
            x               5  long note
            """)
    }
}
