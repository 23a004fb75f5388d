%% @doc Process (EUnit): every limit of the config map and every error status the connection
%% sends, over real sockets on 127.0.0.1. Each error is one short line, then the connection closes.
-module(limits_tests).
-include_lib("eunit/include/eunit.hrl").

-import(http_test_client, [connect/1, send/2, response/1, closed/1, header/2]).

limits() ->
    #{
        max_request_line => 100,
        max_header_bytes => 300,
        max_headers => 4,
        max_body => 1000,
        header_timeout => 1000,
        idle_timeout => 3000,
        max_keepalive_requests => 3
    }.

routes() ->
    [{<<"/">>, hello_h, #{}}, {<<"/body">>, body_h, #{length => 100}}].

with_server(Fun) -> with_server(#{}, Fun).

with_server(Extra, Fun) ->
    {Server, Port} = http_test_client:start(routes(), maps:merge(limits(), Extra)),
    try Fun(Port) after httpd_server:stop(Server) end.

%% Sends raw bytes and expects an error status with a one-line body, then the close.
expect_error(Port, Bytes, Status) ->
    S = connect(Port),
    ok = send(S, Bytes),
    R = response(S),
    ?assertMatch(#{status := Status}, R),
    ?assertEqual(<<"close">>, header(<<"connection">>, R)),
    Body = maps:get(body, R),
    ?assertMatch([_, <<>>], binary:split(Body, <<"\n">>)),
    ?assert(closed(S)),
    R.

request_line_over_max_request_line_is_414_test() ->
    with_server(fun(Port) ->
        expect_error(Port, [<<"GET /">>, binary:copy(<<"a">>, 200), <<" HTTP/1.1\r\nhost: t\r\n\r\n">>], 414)
    end).

header_section_over_max_header_bytes_is_431_test() ->
    with_server(fun(Port) ->
        expect_error(Port, [<<"GET / HTTP/1.1\r\nhost: t\r\ncookie: ">>, binary:copy(<<"c">>, 400), <<"\r\n\r\n">>], 431)
    end).

more_headers_than_max_headers_is_431_test() ->
    with_server(fun(Port) ->
        Hs = [[<<"x-h">>, integer_to_binary(I), <<": v\r\n">>] || I <- lists:seq(1, 6)],
        expect_error(Port, [<<"GET / HTTP/1.1\r\nhost: t\r\n">>, Hs, <<"\r\n">>], 431)
    end).

content_length_over_max_body_is_413_before_the_handler_runs_test() ->
    with_server(fun(Port) ->
        expect_error(Port, <<"POST /body HTTP/1.1\r\nhost: t\r\ncontent-length: 5000\r\n\r\n">>, 413)
    end).

%% The client sends an oversized body without waiting (no Expect: 100-continue), in pieces that keep
%% coming after the server has answered 413: the server reads and drops them rather than closing at
%% once, so every send succeeds and the 413 is still there to read (closing on unread bytes resets the
%% connection, which fails the client's next send and can destroy the reply in flight).
%% 12 pieces of 8 KB: past what the old bound (8 reads, 64 KB) drained, and quick enough to stay well
%% inside the 2 s drain limit on a loaded machine.
oversized_body_still_being_sent_gets_its_413_test_() ->
    {timeout, 30, fun oversized_body_still_being_sent_gets_its_413/0}.

oversized_body_still_being_sent_gets_its_413() ->
    with_server(fun(Port) ->
        Piece = binary:copy(<<"x">>, 8192),
        N = 12,
        S = connect(Port),
        ok = send(S, [<<"POST /body HTTP/1.1\r\nhost: t\r\ncontent-length: ">>,
                      integer_to_binary(N * byte_size(Piece)), <<"\r\n\r\n">>]),
        Sent = [begin timer:sleep(2), send(S, Piece) end || _ <- lists:seq(1, N)],
        ?assertEqual(lists:duplicate(N, ok), Sent),
        ?assertMatch(#{status := 413}, response(S))
    end).

chunked_body_growing_past_max_body_is_413_test() ->
    with_server(fun(Port) ->
        Chunk = [<<"1f4\r\n">>, binary:copy(<<"z">>, 500), <<"\r\n">>],
        expect_error(Port, [<<"POST /body HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n">>,
                            Chunk, Chunk, Chunk], 413)
    end).

malformed_request_is_400_test() ->
    with_server(fun(Port) ->
        expect_error(Port, <<"GARBAGE\r\n\r\n">>, 400),
        expect_error(Port, <<"GET / HTTP/1.1\r\nno colon here\r\n\r\n">>, 400),
        expect_error(Port, <<"GET / HTTP/1.1\r\n\r\n">>, 400),
        expect_error(Port, <<"GET /\0 HTTP/1.1\r\nhost: t\r\n\r\n">>, 400)
    end).

bad_chunk_size_is_400_test() ->
    with_server(fun(Port) ->
        expect_error(Port, <<"POST /body HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n">>, 400)
    end).

unknown_method_is_501_test() ->
    with_server(fun(Port) ->
        expect_error(Port, <<"BREW /pot HTTP/1.1\r\nhost: t\r\n\r\n">>, 501)
    end).

unknown_transfer_encoding_is_501_test() ->
    with_server(fun(Port) ->
        expect_error(Port, <<"POST /body HTTP/1.1\r\nhost: t\r\ntransfer-encoding: gzip\r\n\r\n">>, 501)
    end).

unsupported_version_is_505_test() ->
    with_server(fun(Port) ->
        expect_error(Port, <<"GET / HTTP/2.0\r\nhost: t\r\n\r\n">>, 505)
    end).

%% A slowloris client: one byte every 200 ms never completes a head; header_timeout (1 s here)
%% cuts it off with 408. The loop is bounded by the message length and stops at the response.
slowloris_is_cut_off_by_header_timeout_with_408_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        Head = <<"GET / HTTP/1.1\r\nhost: t\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n">>,
        Got = drip(S, Head),
        ?assertMatch(<<"HTTP/1.1 408 ", _/binary>>, Got),
        ?assert(binary:match(Got, <<"connection: close">>) =/= nomatch),
        ?assert(closed(S))
    end).

drip(_S, <<>>) ->
    <<"never cut off">>;
drip(S, <<C, Rest/binary>>) ->
    case send(S, <<C>>) of
        ok ->
            case gen_tcp:recv(S, 0, 200) of
                {ok, Data} -> Data;
                {error, timeout} -> drip(S, Rest);
                {error, Reason} -> {error, Reason}
            end;
        {error, Reason} ->
            {error, Reason}
    end.

header_timeout_counts_from_the_first_byte_not_from_accept_test() ->
    %% Waiting longer than header_timeout before sending anything is idleness, not a slow head.
    with_server(#{header_timeout => 100, idle_report_after => 50}, fun(Port) ->
        S = connect(Port),
        {error, timeout} = gen_tcp:recv(S, 0, 300),
        ok = send(S, <<"GET / HTTP/1.1\r\nhost: t\r\n\r\n">>),
        ?assertMatch(#{status := 200}, response(S))
    end).

idle_keep_alive_connection_is_closed_after_idle_timeout_test() ->
    with_server(#{idle_timeout => 200, idle_report_after => 50}, fun(Port) ->
        S = connect(Port),
        ok = send(S, <<"GET / HTTP/1.1\r\nhost: t\r\n\r\n">>),
        ?assertMatch(#{status := 200}, response(S)),
        ?assert(closed(S))
    end).

stalled_request_body_is_408_test() ->
    with_server(#{idle_timeout => 300}, fun(Port) ->
        R = expect_error(Port, <<"POST /body HTTP/1.1\r\nhost: t\r\ncontent-length: 50\r\n\r\nonly part">>, 408),
        ?assertEqual(<<"request body timeout\n">>, maps:get(body, R))
    end).

max_keepalive_requests_closes_after_the_last_one_test() ->
    with_server(fun(Port) ->
        S = connect(Port),
        Rs = [begin
                  ok = send(S, <<"GET / HTTP/1.1\r\nhost: t\r\n\r\n">>),
                  response(S)
              end || _ <- lists:seq(1, 3)],
        ?assertEqual([undefined, undefined, <<"close">>], [header(<<"connection">>, R) || R <- Rs]),
        ?assert(closed(S))
    end).

%% Garbage of every kind (random bytes, NULs, half heads) gets an error status or a close, never a
%% crash: the server answers a good request afterwards. Seeded, so a failure can be replayed.
random_garbage_never_brings_the_server_down_test() ->
    with_server(#{header_timeout => 300}, fun(Port) ->
        rand:seed(exsss, {1, 2, 3}),
        Inputs = [crypto_free_bytes(rand:uniform(300)) || _ <- lists:seq(1, 40)] ++
            [<<0, 0, 0, 0>>, <<"GET / HTTP/1.1\r\nhost: t\r\nx: \0\r\n\r\n">>, <<"\r\n\r\n\r\n">>,
             <<"GET / HTTP/1.1\r\nhost: t\r\ncontent-length: -1\r\n\r\n">>,
             <<"GET / HTTP/1.1\r\nhost: t\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n">>,
             <<"POST /body HTTP/1.1\r\nhost: t\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n">>],
        [begin
             S = connect(Port),
             _ = send(S, In),
             case response(S) of
                 closed -> ok;
                 #{status := St} -> ?assert(St >= 400 andalso St < 600)
             end,
             gen_tcp:close(S)
         end || In <- Inputs],
        ?assertMatch(#{status := 200}, http_test_client:get(Port, <<"/">>))
    end).

crypto_free_bytes(N) -> << <<(rand:uniform(256) - 1)>> || _ <- lists:seq(1, N) >>.
