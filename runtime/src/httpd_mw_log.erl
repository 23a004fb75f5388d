%% @doc Middleware: one access-log line per request, `METHOD path status Nms', preformatted into one
%% binary and written with one `io:put_chars/1' (a plain binary, which AtomVM's io prints; its `~s'
%% rejects iolists).
%%
%% On a device that write goes to a UART: about 4 ms for a 50-byte line at 115,200 baud, longer than
%% the request. Two options keep it off the request path:
%%   `sample => N'   log one request in N (per connection; its first request is always logged);
%%   `buffer => B'   hand lines to one writer process, which writes them in a single call once B bytes
%%                   have gathered or a second after the first one; at most B bytes are held (a line that
%%                   would pass that is written with what is held), so memory stays bounded.
%% `sink => fun((binary()) -> any())' sends lines (or, with `buffer', batches) elsewhere.
-module(httpd_mw_log).
-behaviour(httpd_middleware).

-export([request/2, response/3, line/4, writer_flush/0]).

%% The writer's name, and how long a buffered line may wait.
-define(WRITER, httpd_mw_log_writer).
-define(FLUSH_MS, 1000).

%% @doc httpd_middleware callback: notes the start time (when this request will be logged).
-spec request(map(), map()) -> {ok, map()}.
request(Req, #{sample := N}) when is_integer(N), N > 1 ->
    Seen = case get(?MODULE) of undefined -> 0; S -> S end,
    put(?MODULE, Seen + 1),
    case Seen rem N of
        0 -> {ok, Req#{httpd_mw_log_t0 => erlang:monotonic_time(millisecond)}};
        _ -> {ok, Req}
    end;
request(Req, _Opts) ->
    {ok, Req#{httpd_mw_log_t0 => erlang:monotonic_time(millisecond)}}.

%% @doc httpd_middleware callback: writes the line of a request `request/2' chose to log.
-spec response(map(), {integer(), list(), term()}, map()) -> {integer(), list(), term()}.
response(#{httpd_mw_log_t0 := T0} = Req, Resp = {Status, _Headers, _Body}, Opts) ->
    Ms = erlang:monotonic_time(millisecond) - T0,
    Line = line(maps:get(method, Req, <<"?">>), maps:get(raw_path, Req, <<"?">>), Status, Ms),
    case Opts of
        #{buffer := B} when is_integer(B), B > 0 -> buffered(Line, B, sink(Opts));
        _ -> out(sink(Opts), Line)
    end,
    Resp;
response(_Req, Resp, _Opts) ->
    Resp.

%% @doc Pure: the log line of one request.
-spec line(binary(), binary(), integer(), integer()) -> binary().
line(Method, Path, Status, Ms) ->
    <<Method/binary, " ", Path/binary, " ", (integer_to_binary(Status))/binary, " ",
      (integer_to_binary(Ms))/binary, "ms\n">>.

%% @doc Writes what the writer holds now (for a clean stop, and for tests). `ok' when there is none.
-spec writer_flush() -> ok.
writer_flush() ->
    case whereis(?WRITER) of
        undefined -> ok;
        W ->
            Ref = erlang:monitor(process, W),
            W ! {flush, self(), Ref},
            receive
                {Ref, flushed} -> erlang:demonitor(Ref, [flush]), ok;
                {'DOWN', Ref, process, W, _} -> ok
            end
    end.

%% The console is named by an atom: the writer compares sinks, and atoms compare the same on every VM.
sink(#{sink := Sink}) -> Sink;
sink(_) -> console.

out(console, Bin) -> io:put_chars(Bin);
out(Sink, Bin) -> Sink(Bin).

%% ---------------------------------------------------------------------------------------------------
%% The writer: one per node, started by the first buffered line.

buffered(Line, Max, Sink) ->
    writer() ! {line, Line, Max, Sink}.

writer() ->
    case whereis(?WRITER) of
        undefined ->
            Pid = spawn(fun() -> writer_loop(none, [], 0) end),
            %% Two connections may race to start it: the loser's stops, and both use the winner.
            try register(?WRITER, Pid) of
                true -> Pid
            catch
                error:badarg ->
                    Pid ! stop,
                    writer()
            end;
        Pid ->
            Pid
    end.

%% Held: the lines (reversed), their size and the sink they go to. The first held line starts the
%% flush timer; a line for another sink (another server's options) writes what is held first.
writer_loop(Sink, Held, Size) ->
    Timeout = case Held of [] -> infinity; _ -> ?FLUSH_MS end,
    receive
        {line, Line, Max, LineSink} ->
            {Sink1, Held1, Size1} = add(Line, Max, LineSink, Sink, Held, Size),
            writer_loop(Sink1, Held1, Size1);
        {flush, From, Ref} ->
            write(Sink, Held),
            From ! {Ref, flushed},
            writer_loop(Sink, [], 0);
        stop ->
            write(Sink, Held)
    after Timeout ->
        write(Sink, Held),
        writer_loop(Sink, [], 0)
    end.

%% The state after one more line, writing what must go out first.
add(Line, Max, LineSink, Sink, Held, _Size) when LineSink =/= Sink, Held =/= [] ->
    write(Sink, Held),
    add(Line, Max, LineSink, LineSink, [], 0);
add(Line, Max, LineSink, _Sink, Held, Size) when Size + byte_size(Line) > Max ->
    write(LineSink, [Line | Held]),
    {LineSink, [], 0};
add(Line, _Max, LineSink, _Sink, Held, Size) ->
    {LineSink, [Line | Held], Size + byte_size(Line)}.

write(_Sink, []) -> ok;
write(Sink, Held) ->
    %% a sink that fails loses its batch, not the writer
    _ = (catch out(Sink, iolist_to_binary(lists:reverse(Held)))),
    ok.
