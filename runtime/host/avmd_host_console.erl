%% @doc Process: the device console of one app generation. It is the group leader of every process of the
%% app, speaks the Erlang I/O protocol (output only; input reads get `eof'), and sends each complete output
%% line to the harness as `{console, stdout, Line}'. Killing the app = killing every process whose group
%% leader is this console. Host-only: never packed into a bundle.
-module(avmd_host_console).
-export([start/1, loop/2]).

%% A line longer than this is sent in pieces, so a runaway print cannot grow the buffer without bound.
-define(MAX_LINE, 4096).
%% A partial line is flushed after this long without its newline (prompts, progress dots).
-define(FLUSH_MS, 200).

-spec start(pid()) -> pid().
start(Harness) ->
    spawn(fun() -> loop(Harness, <<>>) end).

-spec loop(pid(), binary()) -> no_return().
loop(Harness, Buf) ->
    Timeout = case Buf of <<>> -> infinity; _ -> ?FLUSH_MS end,
    receive
        {io_request, From, ReplyAs, Req} ->
            {Reply, Buf2} = request(Req, Buf, Harness),
            From ! {io_reply, ReplyAs, Reply},
            loop(Harness, Buf2);
        stop ->
            _ = flush(Buf, Harness),
            exit(normal);
        _ ->
            loop(Harness, Buf)
    after Timeout ->
        loop(Harness, flush(Buf, Harness))
    end.

request({put_chars, Enc, Chars}, Buf, H) -> put(Enc, Chars, Buf, H);
request({put_chars, Chars}, Buf, H) -> put(latin1, Chars, Buf, H);
request({put_chars, Enc, M, F, A}, Buf, H) -> put(Enc, catch apply(M, F, A), Buf, H);
request({put_chars, M, F, A}, Buf, H) -> put(latin1, catch apply(M, F, A), Buf, H);
request({requests, Reqs}, Buf, H) ->
    lists:foldl(fun(R, {ok, B}) -> request(R, B, H); (_, Acc) -> Acc end, {ok, Buf}, Reqs);
request(getopts, Buf, _H) -> {[{binary, false}, {encoding, unicode}], Buf};
request({setopts, _}, Buf, _H) -> {ok, Buf};
request({get_geometry, _}, Buf, _H) -> {{error, enotsup}, Buf};
request(_Read, Buf, _H) -> {eof, Buf}.

put(Enc, Chars, Buf, H) ->
    Bin = try unicode:characters_to_binary(Chars, Enc, unicode) of
              B when is_binary(B) -> B;
              _ -> iolist_to_binary(io_lib:format("~tp", [Chars]))
          catch _:_ -> iolist_to_binary(io_lib:format("~tp", [Chars]))
          end,
    {ok, lines(<<Buf/binary, Bin/binary>>, H)}.

lines(Bin, H) ->
    case binary:split(Bin, <<"\n">>) of
        [Line, Rest] -> H ! {console, stdout, Line}, lines(Rest, H);
        [Partial] when byte_size(Partial) > ?MAX_LINE ->
            <<Head:?MAX_LINE/binary, Tail/binary>> = Partial,
            H ! {console, stdout, Head},
            lines(Tail, H);
        [Partial] -> Partial
    end.

flush(<<>>, _H) -> <<>>;
flush(Buf, H) -> H ! {console, stdout, Buf}, <<>>.
