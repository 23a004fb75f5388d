%% A handler written for avmd's own API (`handle/2', docs/handlers.md), in the same app as the
%% atomvm_lib ones: `httpd:start/2' mounts it with its `handler_config' as the options.
-module(hello_avmd).

-behaviour(httpd_handler).
-export([handle/2]).

handle(Req, #{greeting := Greeting}) ->
    Name = httpd_handler:query(<<"name">>, Req, <<"world">>),
    {reply, 200, [{<<"content-type">>, <<"text/plain">>}], [Greeting, <<", ">>, Name, <<"\n">>]}.
