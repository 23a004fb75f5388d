//! The device shim on the host runtime: an app that counts its boots in NVS, waits for the network, drives
//! a GPIO pin and asks for `esp:restart/0` is rebooted from its bundle, and its NVS survives the reboot.

mod build_support;

use avmd_engine::build::Engine;
use avmd_engine::host::{HostConfig, HostRuntime};
use avmd_engine::project::Project;
use avmd_engine::runner::Runner;
use build_support::*;
use std::time::Duration;

const APP: &str = r#"-module(shim_app).
-export([start/0]).

start() ->
    N = case esp:nvs_get_binary(shim, boots) of
            undefined -> 1;
            B -> binary_to_integer(B) + 1
        end,
    ok = esp:nvs_put_binary(shim, boots, integer_to_binary(N)),
    {ok, {{127, 0, 0, 1}, _, _}} = network:wait_for_sta(30000),
    ok = gpio:digital_write(2, high),
    Port = maps:get(port, application:get_env(avmd, httpd_overrides, #{}), 8080),
    {ok, L} = gen_tcp:listen(Port, [binary, {active, false}, {reuseaddr, true}]),
    loop(L, N).

loop(L, N) ->
    {ok, S} = gen_tcp:accept(L),
    {ok, Req} = gen_tcp:recv(S, 0, 5000),
    Body = [<<"boots=">>, integer_to_binary(N),
            <<" platform=">>, atom_to_binary(atomvm:platform(), utf8),
            <<" level=">>, atom_to_binary(gpio:digital_read(2), utf8)],
    ok = gen_tcp:send(S, [<<"HTTP/1.1 200 OK\r\ncontent-length: ">>,
                          integer_to_binary(iolist_size(Body)),
                          <<"\r\nconnection: close\r\n\r\n">>, Body]),
    ok = gen_tcp:close(S),
    case Req of
        <<"GET /restart", _/binary>> -> esp:restart();
        _ -> loop(L, N)
    end.
"#;

#[test]
fn nvs_gpio_network_and_restart() {
    let s = Scratch::new("shim");
    s.write(
        "avmd.toml",
        "name = \"shim_app\"\nprofile = \"esp32\"\nbundle_runtime = false\n",
    );
    s.write("src/shim_app.erl", APP);
    let mut engine = Engine::open(Project::discover(s.path()).unwrap()).unwrap();
    let out = engine.build().unwrap();
    let bundle = out
        .bundle
        .unwrap_or_else(|| panic!("{:?}", out.diagnostics));

    let mut host = HostRuntime::start(HostConfig {
        profile: Some(avmd_engine::profile::Profile::Esp32s3),
        ..Default::default()
    })
    .unwrap();
    let console = host.subscribe();
    host.load_bundle(&bundle.path).unwrap();
    let port = host.wait_for_port(Duration::from_secs(10)).unwrap();
    assert_eq!(
        http_get_retry(port, "/").1,
        "boots=1 platform=esp32 level=high"
    );
    let logged: Vec<String> = console.try_iter().map(|l| l.text).collect();
    assert!(
        logged.iter().any(|l| l == "[gpio] digital_write(2, high)"),
        "{logged:?}"
    );

    // esp:restart/0 reboots the app from its bundle; the NVS counter survived.
    assert_eq!(http_get_retry(port, "/restart").0, 200);
    let mut body = String::new();
    for _ in 0..50 {
        if let Ok((_, b)) = http_get(port, "/") {
            body = b;
            if body.starts_with("boots=2") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(body, "boots=2 platform=esp32 level=high");
    assert!(s.path().join("_build/avmd/nvs.term").is_file());
    host.stop();
}
