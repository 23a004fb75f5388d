%% @doc Pure: reads an AtomVM `.avm' (packbeam) bundle for the host harness and makes its beams loadable by
%% OTP. Device beams carry an uncompressed `LitU' literal chunk, which OTP's loader rejects, so it is
%% compressed back into `LitT'. Host-only: never packed into a bundle.
-module(avmd_host_bundle).
-export([parse/1, beam_for_otp/1]).

-define(HEADER, "#!/usr/bin/env AtomVM\n", 0, 0).

-type section() :: {Name :: binary(), Flags :: non_neg_integer(), Data :: binary()}.
-export_type([section/0]).

%% @doc The sections of a bundle in file order; data files without their u32 length prefix.
-spec parse(binary()) -> {ok, [section()]} | {error, binary()}.
parse(<<?HEADER, Rest/binary>>) -> sections(Rest, 24, []);
parse(_) -> {error, <<"not an AtomVM bundle (bad header)">>}.

sections(<<0:32, 0:32, 0:32, "end", 0, _/binary>>, _Off, Acc) ->
    {ok, lists:reverse(Acc)};
sections(<<Size:32, Flags:32, _Reserved:32, Rest/binary>>, Off, Acc) when Size >= 16, Flags =/= 0 ->
    BodyLen = Size - 12,
    case Rest of
        <<Body:BodyLen/binary, Next/binary>> ->
            case binary:split(Body, <<0>>) of
                [Name, _] ->
                    DataOff = (byte_size(Name) + 1 + 3) band (bnot 3),
                    <<_:DataOff/binary, Data0/binary>> = Body,
                    case data(Flags, Data0) of
                        {ok, Data} -> sections(Next, Off + Size, [{Name, Flags, Data} | Acc]);
                        error -> err(Off, <<"data file length prefix disagrees with its section">>)
                    end;
                _ -> err(Off, <<"section name is not NUL-terminated">>)
            end;
        _ -> err(Off, <<"section runs past the end of the file">>)
    end;
sections(_, Off, _) ->
    err(Off, <<"bad section header (or no end marker)">>).

data(Flags, <<Len:32, Bin:Len/binary, _/binary>>) when Flags band 4 =/= 0 -> {ok, Bin};
data(Flags, _) when Flags band 4 =/= 0 -> error;
data(_, Data) -> {ok, Data}.

err(Off, Msg) -> {error, iolist_to_binary([Msg, <<" at offset ">>, integer_to_binary(Off)])}.

%% @doc A device beam made loadable on OTP: `LitU' becomes `LitT' (u32 size + zlib data).
-spec beam_for_otp(binary()) -> {ok, binary()} | {error, binary()}.
beam_for_otp(<<"FOR1", _Len:32, "BEAM", Chunks/binary>>) ->
    case chunks(Chunks, []) of
        {ok, Cs} ->
            Body = iolist_to_binary([<<"BEAM">> | [chunk(Id, Data) || {Id, Data} <- Cs]]),
            {ok, <<"FOR1", (byte_size(Body)):32, Body/binary>>};
        error -> {error, <<"broken BEAM chunks">>}
    end;
beam_for_otp(_) -> {error, <<"not a BEAM file">>}.

chunks(<<>>, Acc) -> {ok, lists:reverse(Acc)};
chunks(<<Id:4/binary, Len:32, Data:Len/binary, Rest/binary>>, Acc) ->
    Pad = (4 - (Len rem 4)) rem 4,
    Rest2 = case Rest of <<_:Pad/binary, R/binary>> -> R; _ -> <<>> end,
    chunks(Rest2, [convert(Id, Data) | Acc]);
chunks(_, _) -> error.

convert(<<"LitU">>, Lit) -> {<<"LitT">>, <<(byte_size(Lit)):32, (zlib:compress(Lit))/binary>>};
convert(Id, Data) -> {Id, Data}.

chunk(Id, Data) ->
    Pad = (4 - (byte_size(Data) rem 4)) rem 4,
    [Id, <<(byte_size(Data)):32>>, Data, binary:copy(<<0>>, Pad)].
