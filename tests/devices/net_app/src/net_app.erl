-module(net_app).
-export([start/0]).

start() ->
    Http = #{port => 8080, profile => esp32, routes => [{<<"/">>, net_app_h, #{}}],
             ota => #{app => net_app}, mdns => #{}},
    {ok, _} = avmd_net:start(#{http => Http, connect_timeout => 2000,
                               callbacks => #{got_ip => fun(Info) -> io:format("net_app: got_ip ~p~n", [Info]) end}}),
    receive never -> ok end.
