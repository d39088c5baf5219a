// Peer for bench_log: spdlog (Debian's libspdlog-dev) writing the same two
// shapes as JSON text lines to /dev/null: spdlog has no structured fields,
// so the JSON is formatted by fmt at the call site, the way C++ services
// usually do it. Prints "shape ns_per_event" lines.
#include <chrono>
#include <cstdio>
#include <memory>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

static constexpr int kN = 500000;

template <typename F> static double measure(F fn)
{
    for (int i = 0; i < 10000; i++)
        fn();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kN; i++)
        fn();
    auto el = std::chrono::steady_clock::now() - t0;
    return std::chrono::duration<double, std::nano>(el).count() / kN;
}

int main()
{
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_st>("/dev/null");
    spdlog::logger log("bench", sink);
    log.set_pattern("{\"time\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",%v}", spdlog::pattern_time_type::utc);
    log.flush_on(spdlog::level::info); // one write per line, like ours and zap's
    double ten = measure([&] {
        log.info("\"msg\":\"request served\",\"int\":{},\"user\":\"{}\",\"ok\":{},\"ratio\":{},\"path\":\"{}\","
                 "\"bytes\":{},\"method\":\"{}\",\"status\":{},\"request_id\":\"{}\",\"elapsed\":{}",
                 42, "alice@example.com", true, 0.25, "/api/v1/users/42", 123456, "GET", 200,
                 "4bf92f3577b34da6", 0.0015);
    });
    std::string bound = fmt::format("\"int\":{},\"user\":\"{}\",\"ok\":{},\"ratio\":{},\"path\":\"{}\","
                                    "\"bytes\":{},\"method\":\"{}\",\"status\":{},\"request_id\":\"{}\",\"elapsed\":{}",
                                    42, "alice@example.com", true, 0.25, "/api/v1/users/42", 123456, "GET",
                                    200, "4bf92f3577b34da6", 0.0015);
    double one = measure([&] { log.info("\"msg\":\"request served\",{},\"attempt\":{}", bound, 1); });
    std::printf("ten_fields %.1f\nten_bound_plus_one %.1f\n", ten, one);
    return 0;
}
