%% @doc Process (EUnit): HTTP/1.1 message handling of httpd_conn over real sockets on 127.0.0.1 —
%% keep-alive, pipelining, chunked bodies both ways, 100-continue, HEAD, HTTP/1.0, routing statuses.
%% Responses are read by http_test_client, which parses them independently of the server's code.
-module(conn_rfc9112_tests).
-include_lib("eunit/include/eunit.hrl").

-import(http_test_client, [connect/1, send/2, response/1, response/2, closed/1, header/2]).

routes() ->
    [
        {<<"/">>, hello_h, #{}},
        {<<"/req/:id">>, req_h, #{}},
        {<<"/files/*">>, req_h, #{}},
        {<<"/body">>, body_h, #{length => 7}},
        {<<"/echo">>, body_h, #{echo => true, length => 5}},
        {<<"/ignore">>, ignore_body_h, #{}},
        {<<"/stream">>, stream_h, #{n => 4}},
        {<<"/stream-nofin">>, stream_h, #{n => 2, fin => false}},
        {<<"/get-only">>, hello_h, #{methods => [<<"GET">>]}},
        {<<"/bad-result">>, crash_h, #{mode => bad_result}}
    ].

with_server(Fun) ->
    {Server, Port} = http_test_client:start(routes()),
    try Fun(Port) after httpd_server:stop(Server) end.

get_req(Path) -> [<<"GET ">>, Path, <<" HTTP/1.1\r\nhost: t\r\n\r\n">>].

keep_alive_serves_several_requests_on_one_connection_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        [begin
             ok = send(S, get_req(<<"/">>)),
             #{status := 200, body := <<"Hello, world!">>} = R = response(S),
             ?assertEqual(undefined, header(<<"connection">>, R))
         end || _ <- lists:seq(1, 5)],
        ?assertNot(closed_quickly(S))
    end).

%% A live connection answers a request; used instead of waiting to prove it was not closed.
closed_quickly(S) ->
    ok = send(S, get_req(<<"/">>)),
    case response(S) of
        #{status := 200} -> false;
        closed -> true
    end.

pipelined_requests_in_one_packet_are_answered_in_order_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, [get_req(<<"/req/1">>), get_req(<<"/req/2">>), get_req(<<"/">>)]),
        #{status := 200, body := B1} = response(S),
        #{status := 200, body := B2} = response(S),
        #{status := 200, body := <<"Hello, world!">>} = response(S),
        ?assertMatch(#{bindings := #{<<"id">> := <<"1">>}}, binary_to_term(B1)),
        ?assertMatch(#{bindings := #{<<"id">> := <<"2">>}}, binary_to_term(B2))
    end).

pipelined_request_after_a_body_is_read_from_the_leftover_bytes_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, [<<"POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 11\r\n\r\nhello world">>, get_req(<<"/">>)]),
        #{status := 200, body := <<"hello world">>} = response(S),
        #{status := 200, body := <<"Hello, world!">>} = response(S)
    end).

request_fields_reach_the_handler_decoded_test() ->
    with_server(fun(Port) ->
        #{status := 200, body := B} = http_test_client:request(Port,
            <<"GET /req/a%20b?x=1&y=hello+there HTTP/1.1\r\nHost: t\r\nX-Thing: v\r\n\r\n">>, get),
        Req = binary_to_term(B),
        ?assertMatch(#{method := <<"GET">>, path := <<"/req/a b">>, raw_path := <<"/req/a%20b?x=1&y=hello+there">>,
                       qs := <<"x=1&y=hello+there">>, version := {1, 1}, bindings := #{<<"id">> := <<"a b">>}}, Req),
        ?assertEqual([{<<"x">>, <<"1">>}, {<<"y">>, <<"hello there">>}], maps:get(query, Req)),
        ?assertEqual([{<<"host">>, <<"t">>}, {<<"x-thing">>, <<"v">>}], maps:get(headers, Req)),
        ?assertMatch({{127, 0, 0, 1}, _}, maps:get(peer, Req))
    end).

trailing_wildcard_gives_the_rest_as_path_info_test() ->
    with_server(fun(Port) ->
        #{body := B} = http_test_client:get(Port, <<"/files/css/site.css">>),
        ?assertEqual([<<"css">>, <<"site.css">>], maps:get(path_info, binary_to_term(B)))
    end).

content_length_body_is_read_in_pieces_no_longer_than_asked_test() ->
    with_server(fun(Port) ->
        Body = binary:copy(<<"x">>, 100),
        #{status := 200, body := Out} = http_test_client:request(Port,
            [<<"POST /body HTTP/1.1\r\nhost: t\r\ncontent-length: 100\r\n\r\n">>, Body], get),
        ?assertEqual(<<"bytes=100 pieces=15 max=7">>, Out)
    end).

chunked_request_body_is_decoded_even_byte_by_byte_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        Msg = <<"POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n"
                "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\ntrailer: x\r\n\r\n">>,
        [ok = send(S, <<C>>) || <<C>> <= Msg],
        #{status := 200, body := <<"hello world">>} = response(S),
        %% The trailer was consumed: the connection serves the next request.
        ?assertNot(closed_quickly(S))
    end).

streamed_reply_is_chunked_for_http11_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, get_req(<<"/stream">>)),
        R = response(S),
        ?assertMatch(#{status := 200, body := <<"piece-1;piece-2;piece-3;piece-4;">>}, R),
        ?assertEqual(<<"chunked">>, header(<<"transfer-encoding">>, R)),
        ?assertNot(closed_quickly(S))
    end).

streamed_reply_without_fin_is_ended_by_the_server_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, get_req(<<"/stream-nofin">>)),
        ?assertMatch(#{status := 200, body := <<"piece-1;piece-2;">>}, response(S)),
        ?assertNot(closed_quickly(S))
    end).

streamed_reply_to_http10_is_raw_and_closes_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, <<"GET /stream HTTP/1.0\r\n\r\n">>),
        R = response(S),
        ?assertEqual(undefined, header(<<"transfer-encoding">>, R)),
        ?assertEqual(<<"close">>, header(<<"connection">>, R)),
        ?assertEqual(<<"piece-1;piece-2;piece-3;piece-4;">>, maps:get(body, R))
    end).

expect_100_continue_is_answered_when_the_handler_reads_the_body_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, <<"POST /echo HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n">>),
        ?assertMatch(#{status := 100}, response(S)),
        ok = send(S, <<"hello">>),
        ?assertMatch(#{status := 200, body := <<"hello">>}, response(S)),
        ?assertNot(closed_quickly(S))
    end).

expect_100_continue_is_not_sent_when_the_handler_ignores_the_body_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, <<"POST /ignore HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n">>),
        R = response(S),
        %% The final status comes straight away; the body never sent makes the connection unusable.
        ?assertMatch(#{status := 201}, R),
        ?assertEqual(<<"close">>, header(<<"connection">>, R)),
        ?assert(closed(S))
    end).

head_gets_the_get_headers_and_no_body_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, <<"HEAD / HTTP/1.1\r\nhost: t\r\n\r\n">>),
        R = response(S, head),
        ?assertMatch(#{status := 200}, R),
        ?assertEqual(<<"13">>, header(<<"content-length">>, R)),
        %% Had a body been sent, it would be read as the next response's status line.
        ?assertNot(closed_quickly(S))
    end).

head_of_a_streamed_reply_has_no_body_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, <<"HEAD /stream HTTP/1.1\r\nhost: t\r\n\r\n">>),
        ?assertMatch(#{status := 200}, response(S, head)),
        ?assertNot(closed_quickly(S))
    end).

http10_closes_after_the_response_by_default_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, <<"GET / HTTP/1.0\r\n\r\n">>),
        R = response(S),
        ?assertMatch(#{status := 200, body := <<"Hello, world!">>}, R),
        ?assert(closed(S))
    end).

http10_keep_alive_is_honoured_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, <<"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n">>),
        R = response(S),
        ?assertEqual(<<"keep-alive">>, header(<<"connection">>, R)),
        ok = send(S, <<"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n">>),
        ?assertMatch(#{status := 200}, response(S))
    end).

connection_close_is_honoured_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, <<"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n">>),
        R = response(S),
        ?assertEqual(<<"close">>, header(<<"connection">>, R)),
        ?assert(closed(S))
    end).

small_unread_body_is_drained_and_the_connection_kept_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, <<"POST /ignore HTTP/1.1\r\nhost: t\r\ncontent-length: 10\r\n\r\n0123456789">>),
        ?assertMatch(#{status := 201}, response(S)),
        ?assertNot(closed_quickly(S))
    end).

unread_chunked_body_is_drained_too_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, <<"POST /ignore HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n">>),
        ?assertMatch(#{status := 201}, response(S)),
        ?assertNot(closed_quickly(S))
    end).

large_unread_body_closes_the_connection_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, <<"POST /ignore HTTP/1.1\r\nhost: t\r\ncontent-length: 1000000\r\n\r\nabc">>),
        R = response(S),
        ?assertMatch(#{status := 201}, R),
        ?assertEqual(<<"close">>, header(<<"connection">>, R)),
        ?assert(closed(S))
    end).

unknown_path_is_404_and_keeps_the_connection_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        ok = send(S, get_req(<<"/nope">>)),
        ?assertMatch(#{status := 404}, response(S)),
        ?assertNot(closed_quickly(S))
    end).

wrong_method_is_405_with_allow_test() ->
    with_server(fun(Port) ->
        R = http_test_client:request(Port, <<"DELETE /get-only HTTP/1.1\r\nhost: t\r\n\r\n">>, get),
        ?assertMatch(#{status := 405}, R),
        ?assertEqual(<<"GET, HEAD, OPTIONS">>, header(<<"allow">>, R))
    end).

options_is_answered_with_allow_test() ->
    with_server(fun(Port) ->
        R = http_test_client:request(Port, <<"OPTIONS /get-only HTTP/1.1\r\nhost: t\r\n\r\n">>, get),
        ?assertMatch(#{status := 204, body := <<>>}, R),
        ?assertEqual(<<"GET, HEAD, OPTIONS">>, header(<<"allow">>, R)),
        ?assertMatch(#{status := 404},
                     http_test_client:request(Port, <<"OPTIONS /nope HTTP/1.1\r\nhost: t\r\n\r\n">>, get))
    end).

handler_returning_garbage_is_a_500_test() ->
    with_server(fun(Port) ->
        ?assertMatch(#{status := 500}, http_test_client:get(Port, <<"/bad-result">>))
    end).

handler_asking_to_close_gets_one_connection_close_test() ->
    {Server, Port} = http_test_client:start([{<<"/bye">>, close_h, #{}}]),
    try
        S = connect(Port),
        ok = send(S, get_req(<<"/bye">>)),
        R = response(S),
        ?assertEqual([<<"close">>], [V || {<<"connection">>, V} <- maps:get(headers, R)]),
        ?assert(closed(S))
    after
        httpd_server:stop(Server)
    end.
