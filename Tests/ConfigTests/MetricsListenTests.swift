import Testing
@testable import Config

/// `milter_metrics_listen`: empty by default (no endpoint), host:port when set.
@Suite struct MetricsListenTests {
    @Test func offByDefaultAndHostPortWhenSet() throws {
        #expect(Settings().milterMetricsListen == nil)
        let v4 = try Settings.parse("milter_metrics_listen = 127.0.0.1:9893", source: "m.conf")
        #expect(v4.milterMetricsListen?.host == "127.0.0.1")
        #expect(v4.milterMetricsListen?.port == 9893)
        #expect(v4.rendered(onlyChanged: true) == "milter_metrics_listen = 127.0.0.1:9893")
        let v6 = try Settings.parse("milter_metrics_listen = [::1]:9893", source: "m.conf")
        #expect(v6.milterMetricsListen?.host == "::1")
        #expect(v6.rendered(onlyChanged: true) == "milter_metrics_listen = [::1]:9893")
        #expect(try Settings.parse("milter_metrics_listen =", source: "m.conf") == Settings())
    }

    @Test func aBadAddressNamesFileLineAndKey() {
        #expect(throws: ConfigError(source: "m.conf", line: 2, key: "milter_metrics_listen",
                                    message: "\"9893\" is not host:port (e.g. 127.0.0.1:8080)")) {
            try Settings.parse("# metrics\nmilter_metrics_listen = 9893", source: "m.conf")
        }
    }
}
