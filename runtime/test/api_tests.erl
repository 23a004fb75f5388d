%% @doc Process (EUnit): httpd_api_handler over real sockets — dispatch by method, path bindings,
%% JSON bodies decoded (400 with the reason when they are not JSON, 413 past max_json), JSON replies.
-module(api_tests).
-include_lib("eunit/include/eunit.hrl").

-import(http_test_client, [header/2]).

with_server(Fun) ->
    {Server, Port} = http_test_client:start([
        {<<"/items/:id">>, httpd_api_handler, #{handler => items_api_h, max_json => 200}}
    ]),
    try Fun(Port) after httpd_server:stop(Server) end.

req(Port, Method, Body) ->
    Len = integer_to_binary(byte_size(Body)),
    http_test_client:request(Port, [Method, <<" /items/42 HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n">>,
                                    <<"content-length: ">>, Len, <<"\r\n\r\n">>, Body], get).

json(#{body := Body}) ->
    {ok, J} = httpd_json:decode(Body),
    J.

get_returns_json_with_the_binding_test() ->
    with_server(fun(Port) ->
        R = http_test_client:get(Port, <<"/items/42">>),
        ?assertMatch(#{status := 200}, R),
        ?assertEqual(<<"application/json">>, header(<<"content-type">>, R)),
        ?assertEqual(#{<<"id">> => <<"42">>}, json(R))
    end).

post_body_is_decoded_and_status_is_the_modules_test() ->
    with_server(fun(Port) ->
        R = req(Port, <<"POST">>, <<"{\"a\": [1, 2.5, true, null, \"x\"]}">>),
        ?assertMatch(#{status := 201}, R),
        ?assertEqual(#{<<"got">> => #{<<"a">> => [1, 2.5, true, null, <<"x">>]}}, json(R))
    end).

no_body_gives_undefined_test() ->
    with_server(fun(Port) ->
        ?assertEqual(#{<<"got">> => <<"no body">>}, json(req(Port, <<"POST">>, <<>>)))
    end).

invalid_json_is_400_with_the_reason_test() ->
    with_server(fun(Port) ->
        R = req(Port, <<"POST">>, <<"{\"a\": ">>),
        ?assertMatch(#{status := 400}, R),
        #{<<"error">> := Reason} = json(R),
        ?assertMatch(<<"invalid JSON", _/binary>>, Reason)
    end).

json_over_max_json_is_413_test() ->
    with_server(fun(Port) ->
        Big = iolist_to_binary([<<"[">>, lists:join(<<",">>, lists:duplicate(150, <<"1">>)), <<"]">>]),
        ?assertMatch(#{status := 413}, req(Port, <<"POST">>, Big))
    end).

error_tuple_becomes_status_and_error_object_test() ->
    with_server(fun(Port) ->
        R = req(Port, <<"PUT">>, <<"{}">>),
        ?assertMatch(#{status := 409}, R),
        ?assertEqual(#{<<"error">> => <<"conflict">>}, json(R))
    end).

no_content_status_has_no_body_test() ->
    with_server(fun(Port) ->
        ?assertMatch(#{status := 204, body := <<>>}, req(Port, <<"DELETE">>, <<>>))
    end).

method_the_module_lacks_is_a_500_not_a_hang_test() ->
    with_server(fun(Port) ->
        ?assertMatch(#{status := 500}, req(Port, <<"PATCH">>, <<"{}">>))
    end).
