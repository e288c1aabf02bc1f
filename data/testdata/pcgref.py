# Independent reference for TestLoaderShuffleDeterminism: PCG-DXSM (as in Go math/rand/v2),
# SplitMix64 seed mixing and Fisher-Yates with Lemire bounds, as loader.go documents.
# /usr/bin/python3 data/testdata/pcgref.py  -> first 8 of epoch 0, seed 1, 50 images
M=(1<<64)-1
def mix64(x):
    x^=x>>30; x=(x*0xbf58476d1ce4e5b9)&M
    x^=x>>27; x=(x*0x94d049bb133111eb)&M
    x^=x>>31; return x
class PCG:
    MUL=(2549297995355413924<<64)|4865540595714422341
    INC=(6364136223846793005<<64)|1442695040888963407
    def __init__(s,a,b): s.st=(a<<64)|b
    def u64(s):
        s.st=(s.st*s.MUL+s.INC)&((1<<128)-1)
        hi,lo=s.st>>64,s.st&M
        hi^=hi>>32; hi=(hi*0xda942042e4dd58b5)&M; hi^=hi>>48; hi=(hi*(lo|1))&M
        return hi
def uniform(p,n):
    while True:
        x=p.u64()*n; hi,lo=x>>64,x&M
        if lo>=n or lo>=((-n)&M)%n: return hi
def perm(seed,epoch,n):
    p=PCG(mix64(seed),mix64(epoch^0x5851f42d4c957f2d))
    a=list(range(n))
    for i in range(n-1,0,-1):
        j=uniform(p,i+1); a[i],a[j]=a[j],a[i]
    return a
print(perm(1,0,50)[:8])
