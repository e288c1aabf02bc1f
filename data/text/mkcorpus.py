#!/usr/bin/python3
"""Regenerates the shipped corpora in this directory from Debian packages.

    apt-get download r-cran-janeaustenr fortunes-zh
    dpkg-deb -x r-cran-janeaustenr_*.deb ex && dpkg-deb -x fortunes-zh_*.deb ex
    /usr/bin/python3 data/text/mkcorpus.py ex data/text

English: Pride and Prejudice as stored by r-cran-janeaustenr (an R lazy-load
database: zlib chunks, each an R-serialised character vector, one element
per line of the Project Gutenberg text without its header and licence).
Chinese: the tang300 file of fortunes-zh with its terminal colour codes
removed and its "%" separators turned into blank lines.
"""
import gzip, re, struct, sys, zlib

def rdb_chunks(raw):
    off = 0
    while off < len(raw):
        d = zlib.decompressobj()
        out = d.decompress(raw[off + 4:])
        off = len(raw) - len(d.unused_data)
        yield out

def character_vector(c):
    assert c[:2] == b'X\n', 'not an XDR serialisation'
    o = 2
    ver, = struct.unpack('>i', c[o:o + 4]); o += 12
    if ver == 3:
        n, = struct.unpack('>i', c[o:o + 4]); o += 4 + n
    flags, = struct.unpack('>i', c[o:o + 4]); o += 4
    assert flags & 0xff == 16, 'not a character vector'
    n, = struct.unpack('>i', c[o:o + 4]); o += 4
    out = []
    for _ in range(n):
        f, l = struct.unpack('>ii', c[o:o + 8]); o += 8
        assert f & 0xff == 9
        if l < 0:
            out.append('')
            continue
        out.append(c[o:o + l].decode('utf-8')); o += l
    return out

def main(ex, out):
    db = ex + '/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb'
    books = [character_vector(c) for c in rdb_chunks(open(db, 'rb').read())]
    pride = [b for b in books if b[0] == 'PRIDE AND PREJUDICE']
    assert len(pride) == 1
    text = '\n'.join(pride[0]).rstrip('\n') + '\n'
    with open(out + '/pride-and-prejudice.txt.gz', 'wb') as f:
        # mtime=0 keeps the file byte-identical across runs.
        f.write(gzip.compress(text.encode('utf-8'), 9, mtime=0))

    tang = open(ex + '/usr/share/games/fortunes/tang300', encoding='utf-8').read()
    tang = re.sub(r'\x1b\[[0-9;]*m', '', tang)
    poems = [p.strip('\n') for p in tang.split('\n%\n') if p.strip('\n%')]
    fixed = []
    for p in poems:
        # One entry lacks its title and author; the poem is Meng Haoran's
        # "Mooring on the Jiande River" (宿建德江).
        if p.startswith('移舟泊烟渚'):
            p = '《宿建德江》\n作者：孟浩然\n' + p
        fixed.append(p)
    with open(out + '/tang300.txt', 'w', encoding='utf-8') as f:
        f.write('\n\n'.join(fixed) + '\n')

if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
