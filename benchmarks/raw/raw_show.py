"""The book's In[1]-In[2] (Dive into Deep Learning 4.2), by hand: what `paraminspect show` does."""

from mxnet import init, nd
from mxnet.gluon import nn

net = nn.Sequential()
net.add(nn.Dense(256, activation="relu"))
net.add(nn.Dense(10))
net.initialize()  # default initialization
X = nd.random.uniform(shape=(2, 20))
Y = net(X)  # forward
Y.wait_to_read()
print(net[0].params, type(net[0].params))
print(net.collect_params())
assert init  # the book imports it for later cells
