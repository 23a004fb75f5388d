%% A JSON API in atomvm_lib's style: `handle_api_request(Method, PathSuffix, Request, Args)'.
-module(legacy_api).

-behavior(httpd_api_handler).
-export([handle_api_request/4]).

handle_api_request(get, [<<"system_info">>], _Request, _Args) ->
    {ok, #{
        platform => atomvm:platform(),
        word_size => erlang:system_info(wordsize),
        process_count => erlang:system_info(process_count),
        %% an ESP32's own key: `undefined' (null) anywhere else, the host included
        free_heap => erlang:system_info(esp32_free_heap_size)
    }};
handle_api_request(get, [<<"greet">>], #{query_params := Query}, _Args) ->
    %% values are strings, keys atoms, as atomvm_lib gives them
    Name = maps:get(name, Query, "world"),
    {ok, [{greeting, "hello " ++ Name}]};
handle_api_request(get, [<<"uptime">>], _Request, #{started := Started}) ->
    {ok, #{seconds => erlang:system_time(second) - Started}};
handle_api_request(post, [<<"notes">>], #{body := Body, headers := Headers}, _Args) ->
    {ok, #{stored => byte_size(Body), type => maps:get(<<"Content-Type">>, Headers, <<"none">>)}};
handle_api_request(get, [<<"status">>], _Request, _Args) ->
    {ok, "all good"};
handle_api_request(delete, [<<"notes">>], _Request, _Args) ->
    ok;
handle_api_request(get, [<<"refuse">>], _Request, _Args) ->
    bad_request;
handle_api_request(get, [<<"broken">>], _Request, _Args) ->
    internal_server_error;
handle_api_request(_Method, _Path, _Request, _Args) ->
    not_found.
